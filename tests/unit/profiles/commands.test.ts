import { describe, expect, it } from 'vitest';
import { deviceFrom, renderCommand } from '../../../src/profiles/mapping.js';
import { compile, liftRaw, mqttProfile } from './fixtures.js';

const lift = mqttProfile();

describe('rendering an MQTT command through a profile', () => {
  it('fills {device} in the topic and {params.x} in the payload, keeping the param type', () => {
    expect(renderCommand(lift, 'return_to_floor', { floor: 3 }, 'lift-7')).toStrictEqual({ ok: true, topic: 'acme/lift-7/cmd', payload: '{"op":"goto","floor":3}' });
  });

  it('fills placeholders inside text, in lists, and sends a text payload as written', () => {
    const raw = liftRaw();
    raw.commands = {
      set_mode: { topic: 'acme/{device}/{params.unit}/set', payload: { args: ['mode={params.mode}', 7, '{device}'], note: 'from {device}: {not a placeholder' } },
      reset: { topic: 'acme/{device}/reset', payload: 'RESET {params.code}' },
    };
    const p = compile(raw) as typeof lift;
    expect(p.commands.get('set_mode')?.params).toStrictEqual(['unit', 'mode']);
    expect(renderCommand(p, 'set_mode', { unit: 2, mode: 'inspection' }, 'lift-7')).toStrictEqual({
      ok: true,
      topic: 'acme/lift-7/2/set',
      payload: '{"args":["mode=inspection",7,"lift-7"],"note":"from lift-7: {not a placeholder"}',
    });
    expect(renderCommand(p, 'reset', { code: 'E21' }, 'lift-7')).toStrictEqual({ ok: true, topic: 'acme/lift-7/reset', payload: 'RESET E21' });
  });

  it('names the missing param', () => {
    expect(renderCommand(lift, 'return_to_floor', {}, 'lift-7')).toStrictEqual({ ok: false, error: 'profile acme-lift-ld200: command return_to_floor: params.floor missing' });
    expect(renderCommand(lift, 'return_to_floor', JSON.parse('{"__proto__":{"floor":3}}'), 'lift-7')).toMatchObject({ ok: false, error: expect.stringContaining('params.floor missing') });
    expect(renderCommand(lift, 'return_to_floor', Object.create({ floor: 3 }), 'lift-7')).toMatchObject({ ok: false, error: expect.stringContaining('params.floor missing') });
  });

  it('refuses an action the profile has not', () => {
    expect(renderCommand(lift, 'open_door', {}, 'lift-7')).toStrictEqual({ ok: false, error: 'profile acme-lift-ld200: no command "open_door" (return_to_floor)' });
  });

  it('cannot be made to publish on another topic: a value with /, +, # or a control character is refused', () => {
    const raw = liftRaw();
    raw.commands.return_to_floor.topic = 'acme/{device}/cmd/{params.floor}';
    const p = compile(raw) as typeof lift;
    expect(renderCommand(p, 'return_to_floor', { floor: 3 }, 'lift-7')).toMatchObject({ ok: true, topic: 'acme/lift-7/cmd/3' });
    for (const floor of ['3/../../sc/site/alarms', '+', '#', 'a\u0000b', '']) {
      const r = renderCommand(p, 'return_to_floor', { floor }, 'lift-7');
      expect(r.ok, JSON.stringify(floor)).toBe(false);
    }
    expect(renderCommand(p, 'return_to_floor', { floor: '3/x' }, 'lift-7')).toStrictEqual({
      ok: false,
      error: 'profile acme-lift-ld200: command return_to_floor: params.floor: must not contain /, + or # (it fills a topic level)',
    });
    expect(renderCommand(p, 'return_to_floor', { floor: { x: 1 } }, 'lift-7')).toMatchObject({ ok: false, error: expect.stringContaining('must be text, a number or true/false') });
    expect(renderCommand(lift, 'return_to_floor', { floor: 3 }, 'a/b')).toMatchObject({ ok: false, error: expect.stringContaining('device: must not contain /, + or #') });
  });

  it('sends an object param whole, and escapes text into JSON', () => {
    expect(renderCommand(lift, 'return_to_floor', { floor: { n: 3 } }, 'lift-7')).toMatchObject({ ok: true, payload: '{"op":"goto","floor":{"n":3}}' });
    expect(renderCommand(lift, 'return_to_floor', { floor: '3","op":"reboot' }, 'lift-7')).toMatchObject({ ok: true, payload: '{"op":"goto","floor":"3\\",\\"op\\":\\"reboot"}' });
    expect(renderCommand(lift, 'return_to_floor', { floor: Infinity }, 'lift-7')).toMatchObject({ ok: false, error: expect.stringContaining('params.floor: must be a finite number') });
  });
});

describe('the device a bridge message names', () => {
  const raw = liftRaw();
  raw.topics = ['application/1/device/event/up'];
  raw.commands = {};
  raw.deviceFrom = { path: '$.deviceInfo.devEui' };
  const bridge = compile(raw) as typeof lift;

  it('reads it from the deviceFrom path', () => {
    expect(deviceFrom(bridge, { deviceInfo: { devEui: '0004a30b001c0530' } })).toBe('0004a30b001c0530');
    expect(deviceFrom(bridge, { deviceInfo: { devEui: 17 } })).toBe('17');
  });

  it('answers undefined when the payload does not say', () => {
    for (const payload of [{}, { deviceInfo: { devEui: '' } }, { deviceInfo: { devEui: { a: 1 } } }, { deviceInfo: { devEui: 1.5 } }, null]) {
      expect(deviceFrom(bridge, payload)).toBeUndefined();
    }
    expect(deviceFrom(lift, { deviceInfo: { devEui: 'x' } })).toBeUndefined();
  });
});
