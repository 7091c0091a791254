// What the console says when the API refuses or cannot be reached: a sentence in the page's language chosen by the
// answer's error `code` (src/errors.ts), with the server's own message (English, it names the field) as the detail.
import { ApiError } from './api.js';
import { language, t } from './i18n.js';

/** The error in words of the page's language; the server's message, when there is one, follows as the detail. */
export function errorText(err) {
  if (!err) return undefined;
  if (!(err instanceof ApiError)) {
    // fetch() throws a TypeError when the gateway cannot be reached at all.
    return err instanceof TypeError ? t('error.network') : t('error.unknown', { detail: err.message });
  }
  const key = `error.${err.code ?? (err.status >= 500 ? 'unavailable' : 'other')}`;
  // A code this console has no sentence for (a newer gateway's) still says something in the page's language.
  const sentence = t(key) === key ? t('error.other') : t(key);
  const detail = err.serverMessage;
  if (!detail) return sentence;
  return language() === 'zh-CN' ? `${sentence}（${detail}）` : `${sentence} (${detail})`;
}
