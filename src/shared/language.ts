/**
 * The languages the gateway speaks, text given in each of them, and what the site model tells the rest of the
 * gateway about a site's places (contract §12). Shared: rules, alarms, work orders, notifications and the site
 * model all read and write text in more than one language.
 */
import { z } from 'zod';

/** The languages, the first being the default of a site without a file. */
export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'zh-CN';

/** Text in one language for all (a plain string), or per language (`{ zh-CN: …, en: … }`, at least one given). */
export type Localised<T = string> = T | Partial<Record<Language, T>>;

/** A schema for `Localised<T>` of an item schema: a plain item or an object of languages, at least one. */
export function localisedSchema<T extends z.ZodType>(item: T) {
  return z.union([
    item,
    z
      .strictObject({ 'zh-CN': item.optional(), en: item.optional() })
      .refine((o) => LANGUAGES.some((l) => o[l] !== undefined), { message: `must give at least one of ${LANGUAGES.join(', ')}` }),
  ]);
}

/** True when `text` is the per-language form. */
export function isPerLanguage<T>(text: Localised<T>): text is Partial<Record<Language, T>> {
  return typeof text === 'object' && text !== null && LANGUAGES.some((l) => l in (text as object));
}

/**
 * `text` in `language`: its own entry, else the other language's (a rule written in one language still says
 * something), else the plain form.
 */
export function inLanguage<T>(text: Localised<T>, language: Language): T {
  if (!isPerLanguage(text)) return text;
  return (text[language] ?? LANGUAGES.map((l) => text[l]).find((t) => t !== undefined)) as T;
}

/** `text` in every language, each falling back as `inLanguage` does. */
export function inEveryLanguage<T>(text: Localised<T>): Record<Language, T> {
  return Object.fromEntries(LANGUAGES.map((l) => [l, inLanguage(text, l)])) as Record<Language, T>;
}

/** A zone's names for alarms and work orders (contract §12), in the site's first language; empty when unknown. */
export interface PlaceNames {
  zoneName?: string;
  buildingName?: string;
}

/**
 * What the site model (src/sites/) tells the parts that write about a site. Parts take it injected; without a
 * site model, `NO_SITES` answers the default language and no names.
 */
export interface SitePlaces {
  /** The site's first language: its file's `language`, DEFAULT_LANGUAGE when it has no file. */
  language(site: string): Language;
  /** The names of `zone` (a floor or a zone id of the site). */
  place(site: string, zone: string | undefined): PlaceNames;
  /** The site's IANA time zone: its file's `timezone`, else the gateway's (TZ). */
  timeZone(site: string): string;
}

/** A zone in words in any language, for the texts rules write (a template's `{place}`). */
export interface PlaceWords {
  /**
   * `zone` in words in `language`: a floor with its building ("3号楼12层", "Building 3, Floor 12"), a zone by its
   * own name; undefined when the site file does not know it.
   */
  placeText(site: string, zone: string | undefined, language: Language): string | undefined;
}

/** No site files: the default language, no names, the gateway's own time zone. */
export const NO_SITES: SitePlaces = {
  language: () => DEFAULT_LANGUAGE,
  place: () => ({}),
  timeZone: () => process.env.TZ || Intl.DateTimeFormat().resolvedOptions().timeZone,
};
