// ESLint (flat config): a small rule set that finds real defects, not style. `npm run lint`; README.md#development.
// The TypeScript rules are type-aware: typescript-eslint's project service reads tsconfig.json, the same
// program `npm run typecheck` checks.
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Every `eslint-disable` comment gives its reason after ` -- ` (house style §7). */
const suppressionReason = {
  meta: { type: 'problem', messages: { missing: 'Give the reason for this suppression after " -- ".' }, schema: [] },
  create(context) {
    return {
      Program() {
        for (const comment of context.sourceCode.getAllComments()) {
          if (/^\s*eslint-disable\b/.test(comment.value) && !/\s--\s*\S/.test(comment.value)) {
            context.report({ loc: comment.loc, messageId: 'missing' });
          }
        }
      },
    };
  },
};

export default defineConfig(
  {
    ignores: ['node_modules/', 'dist/', 'data/', 'tests/artifacts/'],
  },
  {
    // A suppression that no longer suppresses anything is an error, so none outlives its reason.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { local: { rules: { 'suppression-reason': suppressionReason } } },
    rules: {
      'local/suppression-reason': 'error',
      // A control character in a regular expression is almost always a typo; where one is meant, say so.
      'no-control-regex': 'error',
    },
  },
  {
    files: ['src/**/*.ts', 'devices/**/*.ts', 'bench/**/*.ts', 'scripts/*.ts', 'tests/**/*.ts', 'vitest.config.ts'],
    plugins: { '@typescript-eslint': tseslint.plugin },
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits loses its rejection to main.ts's last-resort handler, without context, or to none.
      '@typescript-eslint/no-floating-promises': 'error',
      // An async function where a void callback is expected (an event listener, a timer) has the same problem.
      '@typescript-eslint/no-misused-promises': 'error',
      // `await` on something that is not a promise is a mistake about the type, usually a missing call.
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'all',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      '@typescript-eslint/no-unused-private-class-members': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Left out: require-await. Fastify's handlers and hooks are async by contract (a sync handler must call
      // reply.send), so it flags them all (38 findings, none a defect).
    },
  },
  {
    // Tests read JSON answers as `any` (tests/helpers/gateway.ts `api()` and the like) and assert on them
    // with toStrictEqual, which checks what a type would.
    files: ['tests/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The console: plain ES modules in the browser, no build step.
    files: ['console/**/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
    rules: {
      'no-undef': 'error',
      'no-unused-vars': ['error', { args: 'after-used', argsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['eslint.config.js'],
    languageOptions: { sourceType: 'module', globals: globals.node },
    rules: { 'no-undef': 'error', 'no-unused-vars': 'error' },
  },
);
