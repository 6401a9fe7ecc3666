// What a ZNP host asks a Z-Stack 3.x coordinator stick before it can run a network, answered as the stick's
// own state: its version and IEEE address, its OSAL NV items, network formation (BDB commissioning) and start
// (ZDO startup), the state change indications that follow, network information, endpoint groups and route
// discovery. Commands and payloads: TI Z-Stack Monitor and Test API (SWRA198) SYS, UTIL, ZDO and APP_CNF
// interfaces, as zigbee-herdsman src/adapter/z-stack/znp/definition.ts spells them; what a host does with
// them: herdsman adapter/z-stack/adapter/manager.ts (start, commissioning) and adapter-nv-memory.ts.
import { ByteReader, ByteWriter } from '../../firmware/core/bytes';
import { srspOf } from '../../firmware/radio/znp-frame';

/** SREQ command ids, CMD0 << 8 | CMD1 (MT API; herdsman definition.ts). */
const STARTUP_COMMANDS = {
  SYS_VERSION: 0x2102,
  SYS_GET_EXT_ADDR: 0x2104,
  SYS_OSAL_NV_ITEM_INIT: 0x2107,
  SYS_OSAL_NV_DELETE: 0x2112,
  SYS_OSAL_NV_LENGTH: 0x2113,
  SYS_OSAL_NV_READ_EXT: 0x211c,
  SYS_OSAL_NV_WRITE_EXT: 0x211d,
  SYS_NV_LENGTH: 0x2132,
  UTIL_GET_DEVICE_INFO: 0x2700,
  ZDO_EXT_ROUTE_DISC: 0x2545,
  ZDO_EXT_FIND_GROUP: 0x254a,
  ZDO_EXT_ADD_GROUP: 0x254b,
  ZDO_EXT_NWK_INFO: 0x2550,
  ZDO_STARTUP_FROM_APP: 0x2540,
  APP_CNF_BDB_START_COMMISSIONING: 0x2f05,
  APP_CNF_BDB_SET_CHANNEL: 0x2f08,
} as const;
const C = STARTUP_COMMANDS;
/** ZDO_STATE_CHANGE_IND (AREQ): the device state after a start or formation. */
const ZDO_STATE_CHANGE_IND = 0x45c0;

/** MT status values (herdsman constants/common.ts ZnpCommandStatus). */
const SUCCESS = 0x00;
const FAILURE = 0x01;
/** osal_nv_item_init: the item did not exist and was created (NV_ITEM_UNINIT). */
const NV_ITEM_UNINIT = 0x09;
/** osal_nv_* on an item that does not exist, or a write past its end (NV_OPER_FAILED). */
const NV_OPER_FAILED = 0x0a;

/** Device states (MT API ZDO_STATE_CHANGE_IND; herdsman DevStates): held before a start, coordinator after. */
const DEV_HOLD = 0;
const DEV_ZB_COORD = 9;
/** UTIL_GET_DEVICE_INFO device type bitmap: coordinator | router | end device capable. */
const DEVICE_TYPES = 0x07;

/** OSAL NV item ids (Z-Stack ZComDef.h; herdsman constants/common.ts NvItemsIds). */
const NV = {
  STARTUP_OPTION: 0x0003,
  NIB: 0x0021,
  EXTENDED_PAN_ID: 0x002d,
  NWK_ACTIVE_KEY_INFO: 0x003a,
  NWK_ALTERN_KEY_INFO: 0x003b,
  PRECFGKEY: 0x0062,
  NWKKEY: 0x0082,
  PANID: 0x0083,
  CHANLIST: 0x0084,
} as const;
/** ZCD_NV_STARTUP_OPTION bits applied at the next reset: default config (1) and default network state (2). */
const STARTOPT_CLEAR = 0x03;
/** nwkActiveKeyItems_t on an unaligned (CC26xx) build: key 16, frame counter 4, key sequence 1. The host tells
 *  the platform's struct alignment from this item's length (herdsman AdapterNvMemory.init: 21 = unaligned). */
const NWKKEY_BYTES = 21;
/** BDB commissioning mode bit: network formation (BDB spec §8.4; MT APP_CNF_BDB_START_COMMISSIONING). */
const BDB_FORMATION = 0x04;
/** The stack takes a moment to form or start a network before it says so (ms before time scaling). */
const START_MS = 200;
/** Largest value one OSAL NV read answer carries: the MT frame's 250 bytes less status and length. */
const NV_CHUNK = 240;
/** The version a CC2652 coordinator build of 2023-05-07 reports: transport 2, product 1 (Z-Stack 3.x.0),
 *  release 2.7.1; herdsman lets it control its own LED and use assocRemove/assocAdd (revision ≥ 20211029). */
const VERSION = { transportRev: 2, product: 1, major: 2, minor: 7, maint: 1, revision: 20230507 };

export interface ZnpStartupHost {
  /** The stick's own IEEE address. */
  eui: string;
  out(command: number, data: Uint8Array): void;
  /** Runs fn after ms (scaled like every simulated delay), unless the stick resets first. */
  later(ms: number, fn: () => void): void;
  /** A network was formed: the devices must join it before they can talk to the host. */
  onFormed(): void;
}

/** The NIB (nlme_nib_t, herdsman structs/entries/nib.ts) on an unaligned build, with the fields a host reads. */
function nib(eui: string, panId: number, channel: number, channelMask: number, extPanId: Uint8Array): Uint8Array {
  const w = new ByteWriter(110);
  // SequenceNum … CapabilityFlags (15 bytes): defaults of a Z-Stack 3.x coordinator are not read by hosts.
  for (let i = 0; i < 15; i++) w.u8(0);
  w.u16(0) // TransactionPersistenceTime
    .u8(2) // nwkProtocolVersion: ZigBee PRO
    .u8(0)
    .u8(0)
    .u16(0x0000) // nwkDevAddress: the coordinator
    .u8(channel) // nwkLogicalChannel
    .u16(0x0000) // nwkCoordAddress
    .eui64(eui) // nwkCoordExtAddress
    .u16(panId)
    .u8(0) // nwkState
    .u32(channelMask);
  for (let i = 0; i < 4; i++) w.u8(0); // beaconOrder, superFrameOrder, scanDuration, battLifeExt
  w.u32(0).u32(0).u8(0); // allocated router / end device addresses, nodeDepth
  w.bytes(extPanId).u8(1); // extendedPANID (stored as the host wrote EXTENDED_PAN_ID), nwkKeyLoaded
  for (let i = 0; i < 2 * 17 + 9; i++) w.u8(0); // two spare key descriptors, spare bytes, link status … allFresh
  return w.u16(0).u16(0).u8(0).done(); // nwkManagerAddr, nwkTotalTransmissions, nwkUpdateId
}

/** Offsets of the NIB fields ZDO_EXT_NWK_INFO reports (the layout nib() writes). */
const NIB_AT = { channel: 22, panId: 33, extPanId: 53 };

/** Lowest channel in a channel mask (bit n = channel n), or 0 for none. */
function firstChannel(mask: number): number {
  for (let ch = 11; ch <= 26; ch++) if (mask & (1 << ch)) return ch;
  return 0;
}

export class ZnpStartup {
  private nv = new Map<number, Uint8Array>();
  private devState = DEV_HOLD;
  private primaryChannels = 0;
  private groups = new Set<string>();

  constructor(private readonly host: ZnpStartupHost) {
    this.factoryNv();
  }

  /** The stick resets: the startup option it was given takes effect, and the network waits for a start. */
  onReset(): void {
    const opt = this.nv.get(NV.STARTUP_OPTION);
    if (opt && opt[0] & STARTOPT_CLEAR) this.factoryNv();
    this.devState = DEV_HOLD;
    this.groups.clear();
  }

  /** Answers cmd if it is one of these; false if not (the caller says it is unsupported). */
  handle(cmd: number, data: Uint8Array): boolean {
    const r = new ByteReader(data);
    const w = new ByteWriter();
    switch (cmd) {
      case C.SYS_VERSION: {
        const v = VERSION;
        return this.reply(cmd, w.u8(v.transportRev).u8(v.product).u8(v.major).u8(v.minor).u8(v.maint).u32(v.revision));
      }
      case C.SYS_GET_EXT_ADDR:
        return this.reply(cmd, w.eui64(this.host.eui));
      case C.SYS_OSAL_NV_LENGTH:
        return this.reply(cmd, w.u16(this.nv.get(r.u16('id'))?.length ?? 0));
      case C.SYS_OSAL_NV_ITEM_INIT: {
        const id = r.u16('id');
        const len = r.u16('len');
        const init = r.bytes(r.u8('initlen'), 'initvalue');
        if (this.nv.has(id)) return this.reply(cmd, w.u8(SUCCESS));
        const item = new Uint8Array(len);
        item.set(init.subarray(0, len));
        this.nv.set(id, item);
        return this.reply(cmd, w.u8(NV_ITEM_UNINIT));
      }
      case C.SYS_OSAL_NV_READ_EXT: {
        const item = this.nv.get(r.u16('id'));
        const offset = r.u16('offset');
        if (!item || offset > item.length) return this.reply(cmd, w.u8(NV_OPER_FAILED).u8(0));
        const value = item.subarray(offset, offset + NV_CHUNK);
        return this.reply(cmd, w.u8(SUCCESS).u8(value.length).bytes(value));
      }
      case C.SYS_OSAL_NV_WRITE_EXT: {
        const item = this.nv.get(r.u16('id'));
        const offset = r.u16('offset');
        const value = r.bytes(r.u16('len'), 'value');
        if (!item || offset + value.length > item.length) return this.reply(cmd, w.u8(NV_OPER_FAILED));
        item.set(value, offset);
        return this.reply(cmd, w.u8(SUCCESS));
      }
      case C.SYS_OSAL_NV_DELETE: {
        const id = r.u16('id');
        const item = this.nv.get(id);
        if (!item) return this.reply(cmd, w.u8(NV_ITEM_UNINIT));
        if (r.u16('len') !== item.length) return this.reply(cmd, w.u8(NV_OPER_FAILED));
        this.nv.delete(id);
        return this.reply(cmd, w.u8(SUCCESS));
      }
      case C.SYS_NV_LENGTH:
        // The extended NV tables (address manager, security manager, link keys) are empty: length 0, u32.
        return this.reply(cmd, w.u32(0));
      case C.UTIL_GET_DEVICE_INFO:
        // status, IEEE, short address, device types, state, no associated devices (each joins as the host's child
        // in the simulator, but Z-Stack lists only those in its association table; the host does not need them).
        return this.reply(cmd, w.u8(SUCCESS).eui64(this.host.eui).u16(0x0000).u8(DEVICE_TYPES).u8(this.devState).u8(0));
      case C.APP_CNF_BDB_SET_CHANNEL:
        if (r.u8('isPrimary')) this.primaryChannels = r.u32('channel');
        return this.reply(cmd, w.u8(SUCCESS));
      case C.APP_CNF_BDB_START_COMMISSIONING:
        this.reply(cmd, w.u8(SUCCESS));
        if (r.u8('mode') & BDB_FORMATION) this.start(true);
        return true;
      case C.ZDO_STARTUP_FROM_APP:
        // 0: the network state was restored from NV; 1: a new network is formed (MT ZDO_STARTUP_FROM_APP).
        this.reply(cmd, w.u8(this.nv.has(NV.NIB) ? SUCCESS : FAILURE));
        this.start(!this.nv.has(NV.NIB));
        return true;
      case C.ZDO_EXT_NWK_INFO:
        return this.reply(cmd, this.nwkInfo(w));
      case C.ZDO_EXT_FIND_GROUP: {
        const key = `${r.u8('endpoint')}:${r.u16('groupid')}`;
        return this.reply(cmd, w.u8(this.groups.has(key) ? SUCCESS : FAILURE).u16(0).u8(0));
      }
      case C.ZDO_EXT_ADD_GROUP:
        this.groups.add(`${r.u8('endpoint')}:${r.u16('groupid')}`);
        return this.reply(cmd, w.u8(SUCCESS));
      case C.ZDO_EXT_ROUTE_DISC:
        // Every simulated device is one hop from the stick: the route is known already.
        return this.reply(cmd, w.u8(SUCCESS));
    }
    return false;
  }

  /** Forms a network from the NV configuration (or starts the one in NV), then reports DEV_ZB_COORD. */
  private start(form: boolean): void {
    this.host.later(START_MS, () => {
      if (form) this.form();
      this.devState = DEV_ZB_COORD;
      this.host.out(ZDO_STATE_CHANGE_IND, new Uint8Array([DEV_ZB_COORD]));
    });
  }

  private form(): void {
    const panId = this.nv.get(NV.PANID);
    const chanList = this.nv.get(NV.CHANLIST);
    const mask = this.primaryChannels || (chanList ? new ByteReader(chanList).u32('channelList') : 0);
    const extPanId = this.nv.get(NV.EXTENDED_PAN_ID) ?? new ByteWriter().eui64(this.host.eui).done();
    this.nv.set(NV.NIB, nib(this.host.eui, panId ? new ByteReader(panId).u16('panId') : 0xffff, firstChannel(mask), mask, extPanId));
    // The network key becomes the active (and alternate) key: keySeqNum 0 and the key (nwkKeyDesc, 17 bytes).
    const key = this.nv.get(NV.PRECFGKEY) ?? new Uint8Array(16);
    for (const id of [NV.NWK_ACTIVE_KEY_INFO, NV.NWK_ALTERN_KEY_INFO]) this.nv.set(id, new ByteWriter(17).u8(0).bytes(key).done());
    this.host.onFormed();
  }

  /** ZDO_EXT_NWK_INFO: short address, state, PAN id, parent, extended PAN id, parent IEEE, channel (none formed:
   *  PAN id 0xFFFF and channel 0, as herdsman expects of a stick without a network). */
  private nwkInfo(w: ByteWriter): ByteWriter {
    const n = this.nv.get(NV.NIB);
    const r = n ? new ByteReader(n) : null;
    const panId = r ? ((r.pos = NIB_AT.panId), r.u16('nwkPanId')) : 0xffff;
    const channel = r ? ((r.pos = NIB_AT.channel), r.u8('nwkLogicalChannel')) : 0;
    const extPanId = n ? n.subarray(NIB_AT.extPanId, NIB_AT.extPanId + 8) : new Uint8Array(8);
    return w.u16(0x0000).u8(this.devState).u16(panId).u16(0x0000).bytes(extPanId).bytes(new Uint8Array(8)).u8(channel);
  }

  /** A stick out of the box: only the network key item the host reads to tell the NV struct alignment. */
  private factoryNv(): void {
    this.nv = new Map([[NV.NWKKEY, new Uint8Array(NWKKEY_BYTES)]]);
  }

  private reply(cmd: number, w: ByteWriter): true {
    this.host.out(srspOf(cmd), w.done());
    return true;
  }
}
