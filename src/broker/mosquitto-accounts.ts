import type { DeviceRecord } from '../devices/registry.js';
import { ConflictError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { OperatorRecord } from '../operators/registry.js';
import { DEVICE_SUFFIXES, type Topics } from '../topics.js';
import { check, type DynsecAcl, type DynsecClient, type DynsecCommand } from './dynsec.js';

/** The mark on every broker account the gateway manages: reconciliation touches no other account. */
export const MANAGED_MARK = 'managed by the smart-community gateway';
export const DEVICE_ROLE_PREFIX = 'device-';
export const OPERATOR_ROLE_PREFIX = 'operator-';
/** The role the gateway gives its own account: publishing commands, alarms, work orders and rejections. */
export const GATEWAY_ROLE = 'gateway';

/** Commands per message when reconciling many accounts. */
const CHUNK = 200;
/** Missing accounts logged one by one at most; the rest are summed up in one line. */
const MISSING_LOGGED = 100;
/** How often removals the broker did not confirm are tried again. */
const RETRY_MS = 30_000;

/**
 * contract §3 as a Mosquitto role: the device may publish its four topics and subscribe to, and receive, its
 * own `cmd`, nothing else (the default ACL access denies the rest).
 */
export function deviceAcls(topics: Topics, device: Pick<DeviceRecord, 'site' | 'kind' | 'id'>): DynsecAcl[] {
  const prefix = topics.devicePrefix(device.site, device.kind, device.id);
  const cmd = topics.device(device.site, device.kind, device.id, 'cmd');
  return [
    ...DEVICE_SUFFIXES.map((s): DynsecAcl => ({ acltype: 'publishClientSend', topic: `${prefix}${s}`, allow: true })),
    { acltype: 'subscribeLiteral', topic: cmd, allow: true },
    { acltype: 'publishClientReceive', topic: cmd, allow: true },
  ];
}

/** contract §3: an operator subscribes to, and receives, its sites' operator filters; it publishes nothing. */
export function operatorAcls(topics: Topics, sites: readonly string[]): DynsecAcl[] {
  return sites.flatMap((site) =>
    topics.operatorFilters(site).flatMap((filter): DynsecAcl[] => [
      { acltype: 'subscribePattern', topic: filter, allow: true },
      { acltype: 'publishClientReceive', topic: filter, allow: true },
    ]),
  );
}

/**
 * The gateway's own rights under the base topic, besides the dynsec admin role it logs in with. An ingest
 * worker's account needs this role and no other: Mosquitto 2.0 checks a shared subscription against its whole
 * filter, `$share/{group}/...`, hence the second pattern.
 */
export function gatewayAcls(topics: Topics): DynsecAcl[] {
  const all = `${topics.base}/#`;
  return [
    { acltype: 'publishClientSend', topic: all, allow: true },
    { acltype: 'publishClientReceive', topic: all, allow: true },
    { acltype: 'subscribePattern', topic: all, allow: true },
    { acltype: 'subscribePattern', topic: `$share/+/${all}`, allow: true },
  ];
}

/** Everything not granted by a role is refused (contract §3): the broker's defaults say so. */
export const DEFAULT_ACL_ACCESS: DynsecCommand = {
  command: 'setDefaultACLAccess',
  acls: [
    { acltype: 'publishClientSend', allow: false },
    { acltype: 'publishClientReceive', allow: false },
    { acltype: 'subscribe', allow: false },
    { acltype: 'unsubscribe', allow: true },
  ],
};

/** True when two ACL lists grant the same (priorities aside; the gateway sets none). */
export function sameAcls(a: readonly DynsecAcl[], b: readonly DynsecAcl[]): boolean {
  const key = (l: readonly DynsecAcl[]) => l.map((x) => `${x.acltype} ${x.allow} ${x.topic}`).sort().join('\n');
  return key(a) === key(b);
}

interface BrokerClient {
  username: string;
  textdescription?: string;
  roles?: Array<{ rolename: string }>;
}

export interface AccountsDeps {
  dynsec: DynsecClient;
  topics: Topics;
  log: Logger;
  metrics: Metrics;
  /** The gateway's own account on the broker (BROKER_USERNAME). */
  self: string;
  devices(): readonly DeviceRecord[];
  operators(): readonly OperatorRecord[];
}

/**
 * Keeps Mosquitto's accounts in step with the registries, through its dynamic-security plugin: a client and a
 * role per device (`device-{id}`) and per operator (`operator-{id}`), made when they are registered, removed
 * when they are deleted, and reconciled each time the gateway connects.
 */
export class MosquittoAccounts {
  readonly name = 'broker accounts';
  /** Registered devices and operators found without a client at the last sync, until they get new credentials. */
  private readonly missing = { device: new Set<string>(), operator: new Set<string>() };
  private readonly pendingRemovals = new Set<string>();
  private retryTimer?: NodeJS.Timeout;
  private selfChangeSent = false;

  constructor(private readonly deps: AccountsDeps) {}

  /** Arms the retry of unconfirmed removals; the sync itself runs at each connection of the broker link. */
  start(): void {
    this.deps.metrics.gauge('gateway_broker_accounts_missing', 'Registered devices and operators without an account on the broker (need new credentials)', () => [
      [{ kind: 'device' }, this.missing.device.size],
      [{ kind: 'operator' }, this.missing.operator.size],
    ]);
    this.retryTimer = setInterval(() => void this.retryRemovals(), RETRY_MS);
    this.retryTimer.unref();
  }

  stop(): void {
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Creates the device's role and client; resolves once the broker confirmed both (a 201 waits for it). */
  async deviceRegistered(device: DeviceRecord, password: string): Promise<void> {
    // A removal still to retry belonged to an earlier device of this id: it must not take the new account.
    this.pendingRemovals.delete(device.id);
    await this.createAccount(device.id, `${DEVICE_ROLE_PREFIX}${device.id}`, deviceAcls(this.deps.topics, device), password);
    this.missing.device.delete(device.id);
    this.deps.log.info({ device: device.id, site: device.site }, 'device account created on the broker');
  }

  /** Creates the operator's role and client. */
  async operatorCreated(operator: OperatorRecord, password: string): Promise<void> {
    await this.createAccount(operator.id, `${OPERATOR_ROLE_PREFIX}${operator.id}`, operatorAcls(this.deps.topics, operator.sites), password);
    this.deps.log.info({ operator: operator.id }, 'operator account created on the broker');
  }

  /**
   * An operator's sites or disabled flag changed (contract §15): its role's ACLs follow its sites, and a disabled
   * operator's client is disabled (Mosquitto disconnects it and refuses its logins). Resolves once confirmed.
   */
  async operatorChanged(operator: OperatorRecord): Promise<void> {
    const rolename = `${OPERATOR_ROLE_PREFIX}${operator.id}`;
    const responses = await this.deps.dynsec.send([
      { command: 'modifyRole', rolename, acls: operatorAcls(this.deps.topics, operator.sites) },
      { command: operator.disabled ? 'disableClient' : 'enableClient', username: operator.id },
    ]);
    for (const r of responses) check(r);
    this.deps.log.info({ operator: operator.id, disabled: operator.disabled }, 'operator account changed on the broker');
  }

  /** Removes a deleted operator's client (Mosquitto disconnects it) and role; the next sync retries a failure. */
  async operatorDeleted(id: string): Promise<void> {
    await this.removeAccount(id, `${OPERATOR_ROLE_PREFIX}${id}`);
    this.missing.operator.delete(id);
    this.deps.log.info({ operator: id }, 'operator account removed from the broker');
  }

  /**
   * Removes a deleted device's client (Mosquitto disconnects it) and role. When the broker does not confirm,
   * the removal is tried again every 30 s and at the next connection; the deletion itself stands.
   */
  async deviceDeleted(id: string): Promise<void> {
    try {
      this.missing.device.delete(id);
      await this.removeAccount(id, `${DEVICE_ROLE_PREFIX}${id}`);
      this.deps.log.info({ device: id }, 'device account removed from the broker');
    } catch (err) {
      this.pendingRemovals.add(id);
      this.deps.log.warn({ err, device: id }, 'device account not removed from the broker yet; retrying');
    }
  }

  /**
   * Run at each connection: sets the default ACL access, gives the gateway's own account its role, then removes
   * the accounts of devices and operators that no longer exist and counts the registered ones with no account.
   * Resolves `relinking` when it changed the gateway's own roles: Mosquitto then disconnects the gateway, and
   * the sync runs again once it is back.
   */
  async sync(): Promise<'done' | 'relinking'> {
    check((await this.deps.dynsec.send([DEFAULT_ACL_ACCESS]))[0]);
    if ((await this.ensureOwnRole()) === 'relinking') return 'relinking';
    const [clientsRes, rolesRes] = await this.deps.dynsec.send([
      { command: 'listClients', verbose: true, count: -1, offset: 0 },
      { command: 'listRoles', verbose: false, count: -1, offset: 0 },
    ]);
    const clients = (check(clientsRes).data?.clients ?? []) as BrokerClient[];
    const roles = new Set((check(rolesRes).data?.roles ?? []) as string[]);
    const devices = new Map(this.deps.devices().map((d) => [d.id, d]));
    const operators = new Map(this.deps.operators().map((o) => [o.id, o]));
    const commands = [...this.staleAccounts(clients, roles, devices, operators), ...this.roleRepairs(clients, roles, devices)];
    for (let i = 0; i < commands.length; i += CHUNK) {
      for (const r of await this.deps.dynsec.send(commands.slice(i, i + CHUNK))) check(r, ['Client not found', 'Role not found']);
    }
    this.pendingRemovals.clear();
    this.countMissing(clients, devices, operators);
    this.deps.log.info(
      { clients: clients.length, changes: commands.length, missingDevices: this.missing.device.size, missingOperators: this.missing.operator.size },
      'broker accounts reconciled',
    );
    return 'done';
  }

  private async createAccount(username: string, rolename: string, acls: DynsecAcl[], password: string): Promise<void> {
    const [existing] = await this.deps.dynsec.send([{ command: 'getClient', username }]);
    const client = existing.error ? undefined : (existing.data?.client as BrokerClient | undefined);
    if (client && client.textdescription !== MANAGED_MARK) {
      throw new ConflictError(`the MQTT broker already has an account named ${JSON.stringify(username)} that the gateway does not manage`);
    }
    const responses = await this.deps.dynsec.send([
      // A stale account of the same name (a removal the broker never confirmed) is replaced.
      ...(client ? [{ command: 'deleteClient', username }] : []),
      { command: 'deleteRole', rolename },
      { command: 'createRole', rolename, acls },
      { command: 'createClient', username, password, textdescription: MANAGED_MARK, roles: [{ rolename }] },
    ]);
    try {
      for (const r of responses) check(r, ['Client not found', 'Role not found']);
    } catch (err) {
      await this.deps.dynsec.send([{ command: 'deleteRole', rolename }]).catch(() => undefined);
      throw err;
    }
  }

  private async removeAccount(username: string, rolename: string): Promise<void> {
    const [existing] = await this.deps.dynsec.send([{ command: 'getClient', username }]);
    const managed = !existing.error && (existing.data?.client as BrokerClient | undefined)?.textdescription === MANAGED_MARK;
    const responses = await this.deps.dynsec.send([
      ...(managed ? [{ command: 'deleteClient', username }] : []),
      { command: 'deleteRole', rolename },
    ]);
    for (const r of responses) check(r, ['Client not found', 'Role not found']);
    this.pendingRemovals.delete(username);
  }

  private async retryRemovals(): Promise<void> {
    const registered = new Set(this.deps.devices().map((d) => d.id));
    for (const id of [...this.pendingRemovals]) {
      this.pendingRemovals.delete(id);
      if (!registered.has(id)) await this.deviceDeleted(id);
    }
  }

  /** Gives the gateway's account the `gateway` role; a change makes Mosquitto disconnect it (2.0 kicks on role changes). */
  private async ensureOwnRole(): Promise<'ok' | 'relinking'> {
    const want = gatewayAcls(this.deps.topics);
    const [self, role] = await this.deps.dynsec.send([
      { command: 'getClient', username: this.deps.self },
      { command: 'getRole', rolename: GATEWAY_ROLE },
    ]);
    if (self.error) throw new Error(`the gateway's account ${this.deps.self} is not a client of the dynamic-security plugin: ${self.error}`);
    const roles = ((self.data?.client as BrokerClient | undefined)?.roles ?? []).map((r) => r.rolename);
    const acls = role.error ? undefined : ((role.data?.role as { acls?: DynsecAcl[] } | undefined)?.acls ?? []);
    if (roles.includes(GATEWAY_ROLE) && acls && sameAcls(acls, want)) return 'ok';
    if (this.selfChangeSent) throw new Error(`the gateway's account ${this.deps.self} still lacks the ${GATEWAY_ROLE} role after it was given`);
    this.selfChangeSent = true;
    const commands: DynsecCommand[] = [];
    if (!acls) commands.push({ command: 'createRole', rolename: GATEWAY_ROLE, acls: want });
    else if (!sameAcls(acls, want)) commands.push({ command: 'modifyRole', rolename: GATEWAY_ROLE, acls: want });
    if (!roles.includes(GATEWAY_ROLE)) commands.push({ command: 'addClientRole', username: this.deps.self, rolename: GATEWAY_ROLE });
    this.deps.log.info({ username: this.deps.self, role: GATEWAY_ROLE }, 'giving the gateway account its role; the broker reconnects it');
    this.deps.dynsec.fire(commands);
    return 'relinking';
  }

  /** Clients and roles with the gateway's mark or naming whose device or operator is gone. */
  private staleAccounts(clients: BrokerClient[], roles: Set<string>, devices: Map<string, unknown>, operators: Map<string, unknown>): DynsecCommand[] {
    const known = (name: string) => devices.has(name) || operators.has(name);
    const out: DynsecCommand[] = [];
    for (const c of clients) {
      if (c.textdescription === MANAGED_MARK && !known(c.username)) out.push({ command: 'deleteClient', username: c.username });
    }
    for (const r of roles) {
      if (r.startsWith(DEVICE_ROLE_PREFIX) && !devices.has(r.slice(DEVICE_ROLE_PREFIX.length))) out.push({ command: 'deleteRole', rolename: r });
      if (r.startsWith(OPERATOR_ROLE_PREFIX) && !operators.has(r.slice(OPERATOR_ROLE_PREFIX.length))) out.push({ command: 'deleteRole', rolename: r });
    }
    return out;
  }

  /** A registered device whose client is there but whose role was removed by hand gets it back. */
  private roleRepairs(clients: BrokerClient[], roles: Set<string>, devices: Map<string, DeviceRecord>): DynsecCommand[] {
    const out: DynsecCommand[] = [];
    for (const c of clients) {
      const device = c.textdescription === MANAGED_MARK ? devices.get(c.username) : undefined;
      if (!device) continue;
      const rolename = `${DEVICE_ROLE_PREFIX}${device.id}`;
      if (!roles.has(rolename)) out.push({ command: 'createRole', rolename, acls: deviceAcls(this.deps.topics, device) });
      if (!c.roles?.some((r) => r.rolename === rolename)) out.push({ command: 'addClientRole', username: c.username, rolename });
    }
    return out;
  }

  /** The registered devices and operators without a client: the gateway keeps only hashes, it cannot recreate them. */
  private countMissing(clients: BrokerClient[], devices: Map<string, DeviceRecord>, operators: Map<string, OperatorRecord>): void {
    const present = new Set(clients.map((c) => c.username));
    let logged = 0;
    const note = (kind: 'device' | 'operator', id: string) => {
      this.missing[kind].add(id);
      if (logged++ < MISSING_LOGGED) this.deps.log.warn({ [kind]: id }, `${kind} has no account on the broker; it needs new credentials`);
    };
    this.missing.device.clear();
    this.missing.operator.clear();
    for (const id of devices.keys()) if (!present.has(id)) note('device', id);
    for (const id of operators.keys()) if (!present.has(id)) note('operator', id);
    if (logged > MISSING_LOGGED) this.deps.log.warn({ notLogged: logged - MISSING_LOGGED }, 'more accounts are missing on the broker');
  }
}
