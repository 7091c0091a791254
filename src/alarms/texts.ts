/**
 * What an alarm says, in every language and in its site's (issue 17, contract §12): `messages` in zh-CN and en,
 * `message` in the site's first language, and the names of its zone and building when the site file knows them.
 */
import { inEveryLanguage, type SitePlaces } from '../shared/language.js';
import type { AlarmRaise, Texts } from './model.js';

export interface AlarmTexts {
  message: string;
  messages: Texts;
  zoneName?: string;
  buildingName?: string;
}

/** The texts of a raise on its site; a raise without `messages` (by hand, or older code) says `message` in every language. */
export function alarmTexts(req: Pick<AlarmRaise, 'site' | 'zone' | 'message' | 'messages'>, places: SitePlaces): AlarmTexts {
  const messages = req.messages ?? inEveryLanguage(req.message);
  const { zoneName, buildingName } = places.place(req.site, req.zone);
  return {
    message: messages[places.language(req.site)],
    messages,
    ...(zoneName !== undefined && { zoneName }),
    ...(buildingName !== undefined && { buildingName }),
  };
}
