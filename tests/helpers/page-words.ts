// What a person reads on a console page, and the words that must not be there: raw i18n keys, the other language's
// table, Chinese on an English page, English on a Chinese one (issue 17, must show 4).
import type { Page } from 'playwright-core';

export type Lang = 'zh-CN' | 'en';

/**
 * The text a person sees (and a screen reader reads) on the page, each piece with where it is: text nodes of visible
 * elements, placeholders and aria-labels. Code (`<code>`: ids, zone codes) and the language picker's own names are left out.
 */
export async function visibleTexts(page: Page): Promise<Array<{ text: string; where: string; lang: string }>> {
  return page.evaluate(() => {
    const where = (el: Element) => {
      const parts: string[] = [];
      for (let e: Element | null = el; e && parts.length < 4; e = e.parentElement) {
        const data = [...e.attributes].find((a) => a.name.startsWith('data-'));
        parts.unshift(`${e.tagName.toLowerCase()}${e.className && typeof e.className === 'string' ? `.${e.className.split(' ')[0]}` : ''}${data ? `[${data.name}=${data.value}]` : ''}`);
      }
      return parts.join(' > ');
    };
    const skip = (el: Element) => el.closest('script, style, noscript, code, select.lang, svg title') !== null;
    const shown = (el: Element) => el.closest('option') !== null || (el as HTMLElement).checkVisibility?.({ visibilityProperty: true } as never) !== false;
    const out: Array<{ text: string; where: string; lang: string }> = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      const text = n.textContent?.trim();
      if (!text || !el || skip(el) || !shown(el)) continue;
      out.push({ text, where: where(el), lang: el.closest('[lang]')?.getAttribute('lang') ?? '' });
    }
    for (const el of document.querySelectorAll('[placeholder], [aria-label]')) {
      if (skip(el)) continue;
      for (const name of ['placeholder', 'aria-label']) {
        const text = el.getAttribute(name)?.trim();
        if (text) out.push({ text, where: `${where(el)}@${name}`, lang: el.closest('[lang]')?.getAttribute('lang') ?? '' });
      }
    }
    return out;
  });
}

/** The values of the other language's table that the page's own table does not also hold: words that must not show. */
export async function foreignWords(page: Page, lang: Lang): Promise<{ foreign: Set<string>; latin: Set<string> }> {
  // The console's own module, as the page loaded it; a string, so vitest's transform leaves the dynamic import alone.
  const tables = (await page.evaluate("import('/console/i18n.js').then((m) => m.LANGUAGES)")) as Record<string, Record<string, string>>;
  const other = Object.keys(tables).find((l) => l !== lang)!;
  const own = new Set(Object.values(tables[lang]).map((v) => v.trim()));
  // A value both tables hold, a template, or one without a word in it (numbers, units, symbols) may show in either.
  const foreign = new Set([...new Set(Object.values(tables[other]).map((v) => v.trim()))].filter((v) => !own.has(v) && !v.includes('{') && /\p{L}{2,}/u.test(v)));
  // The Latin words the page's own table uses (CSV, SLA, PM): they may show on a Chinese page.
  const latin = new Set([...own].flatMap(latinWords));
  return { foreign, latin };
}

/**
 * The words of a text in Latin letters, leaving out ids and codes (anything with a digit, a dash, a slash...), code
 * quoted in backticks (an event's name in a rule's description) and abbreviations in capitals (LED, CSV).
 */
export function latinWords(text: string): string[] {
  return text.replace(/`[^`]*`/g, ' ').split(/\s+/).filter((w) => !/[0-9_\-/.:@=#]/.test(w)).flatMap((w) => w.split(/[^A-Za-z]+/))
    .filter((w) => w.length >= 3 && w !== w.toUpperCase()).map((w) => w.toLowerCase());
}

/** What is wrong with a page's text in `lang`: raw keys, the other table's words, and sentences in the other language. */
export function untranslated(texts: Array<{ text: string; where: string; lang: string }>, lang: Lang, { foreign, latin }: { foreign: Set<string>; latin: Set<string> }): string[] {
  const bad: string[] = [];
  for (const { text, where, lang: marked } of texts) {
    // A text the page marks as written in another language (a name given in one language only) is shown as written.
    if (marked && marked !== lang) continue;
    if (/^[a-z]+\.[a-zA-Z0-9_.]+$/.test(text) && !/\.(ya?ml|json|svg|png|csv)$/.test(text)) bad.push(`raw key "${text}" at ${where}`);
    else if (foreign.has(text)) bad.push(`"${text}" from the other language's table at ${where}`);
    else if (lang === 'en' && /\p{Script=Han}/u.test(text)) bad.push(`Chinese "${text}" at ${where}`);
    else if (lang === 'zh-CN' && latinWords(text).some((w) => !latin.has(w))) bad.push(`English "${text}" at ${where}`);
  }
  return bad;
}

