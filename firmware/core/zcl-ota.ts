// ZCL OTA Upgrade cluster (0x0019) commands 0x00–0x07, both directions.
// Source: ZigBee OTA Upgrade Cluster spec (095264r23), §6.10; summary in FACTS §2.
// Each direction has its own reader and writer: the hub only reads what clients send and writes what a
// server sends, so its bundle leaves the other halves out (the simulator's clients use those).
import { ByteReader, ByteWriter, codedError } from './bytes';
import { writeZclHeader, ZclHeader } from './zcl-frame';

export const OTA_CLUSTER = 0x0019;

// OTA status codes (ZCL §2.6.3 / OTA §6.10.1). Const enums: inlined by tsc, so they cost the device no JsVars.
export const enum STATUS {
  SUCCESS = 0x00,
  NOT_AUTHORIZED = 0x7e,
  MALFORMED_COMMAND = 0x80,
  UNSUP_COMMAND = 0x81,
  ABORT = 0x95,
  INVALID_IMAGE = 0x96,
  WAIT_FOR_DATA = 0x97,
  NO_IMAGE_AVAILABLE = 0x98,
  REQUIRE_MORE_IMAGE = 0x99,
}

export const enum CMD {
  IMAGE_NOTIFY = 0x00,
  QUERY_NEXT_IMAGE_REQUEST = 0x01,
  QUERY_NEXT_IMAGE_RESPONSE = 0x02,
  IMAGE_BLOCK_REQUEST = 0x03,
  IMAGE_PAGE_REQUEST = 0x04,
  IMAGE_BLOCK_RESPONSE = 0x05,
  UPGRADE_END_REQUEST = 0x06,
  UPGRADE_END_RESPONSE = 0x07,
}

/** Upgrade time meaning "wait for a later Upgrade End Response" (OTA §6.10.10.4). */
export const UPGRADE_TIME_WAIT = 0xffffffff;

/** Manufacturer, image type and version: the triple that names an image in every OTA command. */
export interface ImageId {
  manufacturerCode: number;
  imageType: number;
  fileVersion: number;
}

export interface ImageNotify {
  cmd: 0x00;
  payloadType: number; // 0 jitter only, 1 +manufacturer, 2 +type, 3 +version
  queryJitter: number;
  manufacturerCode?: number;
  imageType?: number;
  fileVersion?: number;
}
export interface QueryNextImageRequest extends ImageId {
  cmd: 0x01;
  hardwareVersion?: number;
}
export interface QueryNextImageResponse {
  cmd: 0x02;
  status: number;
  image?: ImageId & { imageSize: number };
}
export interface ImageBlockRequest extends ImageId {
  cmd: 0x03;
  fileOffset: number;
  maxDataSize: number;
  requestNodeAddress?: string;
  minimumBlockPeriod?: number;
}
export interface ImagePageRequest extends ImageId {
  cmd: 0x04;
  fileOffset: number;
  maxDataSize: number;
  pageSize: number;
  responseSpacing: number;
  requestNodeAddress?: string;
}
export interface ImageBlockResponse {
  cmd: 0x05;
  status: number;
  block?: ImageId & { fileOffset: number; data: Uint8Array }; // status SUCCESS
  wait?: { currentTime: number; requestTime: number; minimumBlockPeriod?: number }; // status WAIT_FOR_DATA
}
export interface UpgradeEndRequest extends ImageId {
  cmd: 0x06;
  status: number;
}
export interface UpgradeEndResponse extends ImageId {
  cmd: 0x07;
  currentTime: number;
  upgradeTime: number;
}

/** What a server sends. */
export type ServerCommand = ImageNotify | QueryNextImageResponse | ImageBlockResponse | UpgradeEndResponse;
/** What a client sends. */
export type ClientCommand = QueryNextImageRequest | ImageBlockRequest | ImagePageRequest | UpgradeEndRequest;
export type OtaCommand = ServerCommand | ClientCommand;

/** Commands the server sends; the rest go client → server. */
export function isServerToClient(cmd: number): boolean {
  return cmd === 0x00 || cmd === 0x02 || cmd === 0x05 || cmd === 0x07;
}

function writeId(w: ByteWriter, id: ImageId): ByteWriter {
  return w.u16(id.manufacturerCode).u16(id.imageType).u32(id.fileVersion);
}

function readId(r: ByteReader): ImageId {
  return { manufacturerCode: r.u16('manufacturerCode'), imageType: r.u16('imageType'), fileVersion: r.u32('fileVersion') };
}

export function encodeOta(c: OtaCommand): Uint8Array {
  const w = new ByteWriter(otaSize(c));
  return (isServerToClient(c.cmd) ? writeServerCommand(w, c as ServerCommand) : writeClientCommand(w, c as ClientCommand)).done();
}

/** A whole ZCL frame for an OTA command, header and payload written once into one buffer. */
export function buildOtaFrame(h: ZclHeader, c: OtaCommand): Uint8Array {
  return isServerToClient(c.cmd) ? buildServerFrame(h, c as ServerCommand) : buildClientFrame(h, c as ClientCommand);
}

export function buildServerFrame(h: ZclHeader, c: ServerCommand): Uint8Array {
  return writeServerCommand(writeZclHeader(new ByteWriter(5 + otaSize(c)), h), c).done();
}

export function buildClientFrame(h: ZclHeader, c: ClientCommand): Uint8Array {
  return writeClientCommand(writeZclHeader(new ByteWriter(5 + otaSize(c)), h), c).done();
}

/** Enough room for a command's payload (exact for image blocks, the one large command). */
function otaSize(c: OtaCommand): number {
  return c.cmd === 0x05 && c.block ? 14 + c.block.data.length : 22;
}

function writeServerCommand(w: ByteWriter, c: ServerCommand): ByteWriter {
  switch (c.cmd) {
    case 0x00:
      w.u8(c.payloadType).u8(c.queryJitter);
      if (c.payloadType >= 1) w.u16(c.manufacturerCode as number);
      if (c.payloadType >= 2) w.u16(c.imageType as number);
      if (c.payloadType >= 3) w.u32(c.fileVersion as number);
      break;
    case 0x02:
      w.u8(c.status);
      if (c.status === STATUS.SUCCESS) {
        const i = c.image as ImageId & { imageSize: number };
        writeId(w, i).u32(i.imageSize);
      }
      break;
    case 0x05:
      w.u8(c.status);
      if (c.status === STATUS.SUCCESS) {
        const b = c.block as ImageId & { fileOffset: number; data: Uint8Array };
        writeId(w, b).u32(b.fileOffset).u8(b.data.length).bytes(b.data);
      } else if (c.status === STATUS.WAIT_FOR_DATA) {
        const t = c.wait as { currentTime: number; requestTime: number; minimumBlockPeriod?: number };
        w.u32(t.currentTime).u32(t.requestTime);
        if (t.minimumBlockPeriod !== undefined) w.u16(t.minimumBlockPeriod);
      }
      break;
    case 0x07:
      writeId(w, c).u32(c.currentTime).u32(c.upgradeTime);
      break;
  }
  return w;
}

function writeClientCommand(w: ByteWriter, c: ClientCommand): ByteWriter {
  switch (c.cmd) {
    case 0x01:
      w.u8(c.hardwareVersion !== undefined ? 1 : 0);
      writeId(w, c);
      if (c.hardwareVersion !== undefined) w.u16(c.hardwareVersion);
      break;
    case 0x03:
      w.u8((c.requestNodeAddress !== undefined ? 1 : 0) | (c.minimumBlockPeriod !== undefined ? 2 : 0));
      writeId(w, c).u32(c.fileOffset).u8(c.maxDataSize);
      if (c.requestNodeAddress !== undefined) w.eui64(c.requestNodeAddress);
      if (c.minimumBlockPeriod !== undefined) w.u16(c.minimumBlockPeriod);
      break;
    case 0x04:
      w.u8(c.requestNodeAddress !== undefined ? 1 : 0);
      writeId(w, c).u32(c.fileOffset).u8(c.maxDataSize).u16(c.pageSize).u16(c.responseSpacing);
      if (c.requestNodeAddress !== undefined) w.eui64(c.requestNodeAddress);
      break;
    case 0x06:
      w.u8(c.status);
      writeId(w, c);
      break;
  }
  return w;
}

/** Decodes an OTA command payload; throws a CodedError (TRUNCATED, UNSUPPORTED) for what it cannot read. */
export function decodeOta(commandId: number, payload: Uint8Array): OtaCommand {
  return isServerToClient(commandId) ? decodeFromServer(commandId, payload) : decodeFromClient(commandId, payload);
}

/** A command a client sent (0x01, 0x03, 0x04, 0x06); anything else is UNSUPPORTED. */
export function decodeFromClient(commandId: number, payload: Uint8Array): ClientCommand {
  const r = new ByteReader(payload);
  switch (commandId) {
    case 0x01: {
      const fc = r.u8('fieldControl');
      const id = readId(r);
      const c: QueryNextImageRequest = { cmd: 0x01, manufacturerCode: id.manufacturerCode, imageType: id.imageType, fileVersion: id.fileVersion };
      if (fc & 1) c.hardwareVersion = r.u16('hardwareVersion');
      return c;
    }
    case 0x03: {
      const fc = r.u8('fieldControl');
      const id = readId(r);
      const c: ImageBlockRequest = {
        cmd: 0x03,
        manufacturerCode: id.manufacturerCode,
        imageType: id.imageType,
        fileVersion: id.fileVersion,
        fileOffset: r.u32('fileOffset'),
        maxDataSize: r.u8('maxDataSize'),
      };
      if (fc & 1) c.requestNodeAddress = r.eui64('requestNodeAddress');
      if (fc & 2) c.minimumBlockPeriod = r.u16('minimumBlockPeriod');
      return c;
    }
    case 0x04: {
      const fc = r.u8('fieldControl');
      const id = readId(r);
      const c: ImagePageRequest = {
        cmd: 0x04,
        manufacturerCode: id.manufacturerCode,
        imageType: id.imageType,
        fileVersion: id.fileVersion,
        fileOffset: r.u32('fileOffset'),
        maxDataSize: r.u8('maxDataSize'),
        pageSize: r.u16('pageSize'),
        responseSpacing: r.u16('responseSpacing'),
      };
      if (fc & 1) c.requestNodeAddress = r.eui64('requestNodeAddress');
      return c;
    }
    case 0x06: {
      const status = r.u8('status');
      const id = readId(r);
      return { cmd: 0x06, status: status, manufacturerCode: id.manufacturerCode, imageType: id.imageType, fileVersion: id.fileVersion };
    }
  }
  throw codedError('UNSUPPORTED', 'unsupported OTA command 0x' + commandId.toString(16));
}

/** A command a server sent (0x00, 0x02, 0x05, 0x07); anything else is UNSUPPORTED. */
export function decodeFromServer(commandId: number, payload: Uint8Array): ServerCommand {
  const r = new ByteReader(payload);
  switch (commandId) {
    case 0x00: {
      const c: ImageNotify = { cmd: 0x00, payloadType: r.u8('payloadType'), queryJitter: r.u8('queryJitter') };
      if (c.payloadType >= 1) c.manufacturerCode = r.u16('manufacturerCode');
      if (c.payloadType >= 2) c.imageType = r.u16('imageType');
      if (c.payloadType >= 3) c.fileVersion = r.u32('fileVersion');
      return c;
    }
    case 0x02: {
      const c: QueryNextImageResponse = { cmd: 0x02, status: r.u8('status') };
      if (c.status === STATUS.SUCCESS) {
        const id = readId(r);
        c.image = { manufacturerCode: id.manufacturerCode, imageType: id.imageType, fileVersion: id.fileVersion, imageSize: r.u32('imageSize') };
      }
      return c;
    }
    case 0x05: {
      const c: ImageBlockResponse = { cmd: 0x05, status: r.u8('status') };
      if (c.status === STATUS.SUCCESS) {
        const id = readId(r);
        const fileOffset = r.u32('fileOffset');
        const size = r.u8('dataSize');
        c.block = { manufacturerCode: id.manufacturerCode, imageType: id.imageType, fileVersion: id.fileVersion, fileOffset: fileOffset, data: r.bytes(size, 'data') };
      } else if (c.status === STATUS.WAIT_FOR_DATA) {
        c.wait = { currentTime: r.u32('currentTime'), requestTime: r.u32('requestTime') };
        // Field servers always send the 11-byte form; accept the 9-byte one too (FACTS §2).
        if (r.remaining() >= 2) c.wait.minimumBlockPeriod = r.u16('minimumBlockPeriod');
      }
      return c;
    }
    case 0x07: {
      const id = readId(r);
      return {
        cmd: 0x07,
        manufacturerCode: id.manufacturerCode,
        imageType: id.imageType,
        fileVersion: id.fileVersion,
        currentTime: r.u32('currentTime'),
        upgradeTime: r.u32('upgradeTime'),
      };
    }
  }
  throw codedError('UNSUPPORTED', 'unsupported OTA command 0x' + commandId.toString(16));
}

/** Seconds since 2000-01-01 00:00 UTC: the ZigBee UTCTime used in OTA currentTime/upgradeTime (ZCL §2.6.2.19). */
export function zigbeeTime(unixMs: number): number {
  return Math.floor(unixMs / 1000) - 946684800;
}
