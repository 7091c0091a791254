import { describe, expect, it } from 'vitest';
import {
  alarmLine,
  escapeMeasurement,
  escapeTag,
  eventLine,
  formatFields,
  formatTimestamp,
  quoteFieldString,
  telemetryLine,
} from '../../../../src/storage/influx/points.js';

describe('escapeMeasurement', () => {
  it('escapes commas and spaces', () => {
    expect(escapeMeasurement('a b,c')).toBe('a\\ b\\,c');
  });

  it('leaves equals signs alone, which are legal in a measurement', () => {
    expect(escapeMeasurement('a=b')).toBe('a=b');
  });

  it('returns a plain name unchanged', () => {
    expect(escapeMeasurement('fire')).toBe('fire');
  });
});

describe('escapeTag', () => {
  it('escapes commas, equals signs and spaces', () => {
    expect(escapeTag('a,b=c d')).toBe('a\\,b\\=c\\ d');
  });

  it('keeps an inner backslash as it is, since InfluxDB 1.x stores `\\\\` as two characters', () => {
    expect(escapeTag('a\\b')).toBe('a\\b');
  });

  it('drops a trailing backslash, which InfluxDB 1.x cannot parse in a tag', () => {
    expect(escapeTag('end\\')).toBe('end');
  });

  it('writes a newline as the two characters \\n so the line stays one line', () => {
    expect(escapeTag('a\nb')).toBe('a\\nb');
  });
});

describe('quoteFieldString', () => {
  it('escapes double quotes and backslashes', () => {
    expect(quoteFieldString('say "hi" \\o/')).toBe('"say \\"hi\\" \\\\o/"');
  });

  it('replaces a newline by the two characters \\n', () => {
    expect(quoteFieldString('line1\nline2')).toBe('"line1\\nline2"');
  });
});

describe('formatFields', () => {
  it('writes integers as floats so a field never changes type', () => {
    expect(formatFields({ a: 1, b: 2.5, c: -0.25 })).toBe('a=1,b=2.5,c=-0.25');
  });

  it('writes booleans as true/false and strings quoted', () => {
    expect(formatFields({ on: true, off: false, s: 'x' })).toBe('on=true,off=false,s="x"');
  });

  it('skips undefined, NaN and infinite values', () => {
    expect(formatFields({ a: undefined, b: Number.NaN, c: Number.POSITIVE_INFINITY, d: 3 })).toBe('d=3');
  });

  it('escapes field keys like tag keys', () => {
    expect(formatFields({ 'a b': 1 })).toBe('a\\ b=1');
  });
});

describe('formatTimestamp', () => {
  it('writes epoch milliseconds as an integer, keeping zeros in the low digits', () => {
    expect(formatTimestamp(1_767_225_600_000)).toBe('1767225600000');
    expect(formatTimestamp(1_767_225_600_007)).toBe('1767225600007');
    expect(formatTimestamp(1_767_226_000_123)).toBe('1767226000123');
    expect(formatTimestamp(1_767_225_600_000)).toBe('1767225600000');
  });

  it('drops a fraction of a millisecond and handles small and negative values', () => {
    expect(formatTimestamp(1_700_000_000_123.9)).toBe('1700000000123');
    expect(formatTimestamp(42)).toBe('42');
    expect(formatTimestamp(-5)).toBe('-5');
  });

  it('throws on a timestamp that is not a finite number', () => {
    expect(() => formatTimestamp(Number.NaN)).toThrow(/not epoch milliseconds/);
  });
});

describe('telemetryLine', () => {
  it('uses the kind as measurement, sorted device/site/zone tags and a millisecond timestamp', () => {
    const line = telemetryLine('fire', 'maple-court', 'fire-01', 'b3-f12', { temperatureC: 21, smokeObscurationPct: 0.5 }, 1_700_000_000_123);
    expect(line).toBe('fire,device=fire-01,site=maple-court,zone=b3-f12 temperatureC=21,smokeObscurationPct=0.5 1700000000123');
  });

  it('writes booleans', () => {
    expect(telemetryLine('access', 's', 'd', 'z', { doorOpen: true, locked: false }, 1)).toBe(
      'access,device=d,site=s,zone=z doorOpen=true,locked=false 1',
    );
  });

  it("writes an enum field's text as a string field (contract §9)", () => {
    expect(telemetryLine('lift', 's', 'd', 'z', { floor: 3, direction: 'up', mode: 'out_of_service', moving: true }, 1)).toBe(
      'lift,device=d,site=s,zone=z floor=3,direction="up",mode="out_of_service",moving=true 1',
    );
  });

  it('escapes tag values', () => {
    expect(telemetryLine('fire', 's 1', 'd,1', 'z=1', { coPpm: 1 }, 5)).toBe('fire,device=d\\,1,site=s\\ 1,zone=z\\=1 coPpm=1 5');
  });

  it('throws rather than produce a line without fields', () => {
    expect(() => telemetryLine('fire', 's', 'd', 'z', {}, 1)).toThrow(/no fields/);
    expect(() => telemetryLine('fire', 's', 'd', 'z', { coPpm: Number.NaN }, 1)).toThrow(/no fields/);
  });

  it('leaves out a tag whose value is empty', () => {
    expect(telemetryLine('fire', 's', 'd', '', { coPpm: 1 }, 1)).toBe('fire,device=d,site=s coPpm=1 1');
  });
});

describe('eventLine', () => {
  it('writes count=1i and the scalar details, skipping null, undefined and objects', () => {
    const details = { seconds: 42, method: 'card', forced: true, none: null, nested: { a: 1 }, missing: undefined };
    expect(eventLine('s', 'access', 'door-1', 'lobby', 'door_held_open', details, 1000)).toBe(
      'events,device=door-1,kind=access,site=s,type=door_held_open,zone=lobby count=1i,seconds=42,method="card",forced=true 1000',
    );
  });

  it('writes only count when there are no details', () => {
    expect(eventLine('s', 'fire', 'f', 'z', 'test', {}, 7)).toBe('events,device=f,kind=fire,site=s,type=test,zone=z count=1i 7');
  });

  it('does not let a detail named count overwrite the count field', () => {
    expect(eventLine('s', 'fire', 'f', 'z', 'test', { count: 9 }, 7)).toBe('events,device=f,kind=fire,site=s,type=test,zone=z count=1i 7');
  });

  it('quotes a string detail with a quote and a newline in it', () => {
    expect(eventLine('s', 'camera', 'c', 'z', 'face_match', { list: 'a "b"\nc' }, 1)).toBe(
      'events,device=c,kind=camera,site=s,type=face_match,zone=z count=1i,list="a \\"b\\"\\nc" 1',
    );
  });
});

describe('alarmLine', () => {
  it('writes the alarm tags sorted and state, id and value fields', () => {
    expect(alarmLine('s', 'fire', 'critical', 'fire-01', { state: 'active', id: 'a1', value: 12 }, 99)).toBe(
      'alarms,severity=critical,site=s,source=fire-01,type=fire state="active",id="a1",value=12 99',
    );
  });

  it('skips value when it is undefined', () => {
    expect(alarmLine('s', 'fire', 'major', 'z1', { state: 'cleared', id: 'a1' }, 99)).toBe(
      'alarms,severity=major,site=s,source=z1,type=fire state="cleared",id="a1" 99',
    );
  });
});
