// ZCL frame header, the OTA cluster commands 0x00–0x07 (firmware/core/zcl-ota.ts) and the general
// commands the hub uses (Read Attributes, Read Attributes Response, Default Response).
import fc from 'fast-check';
import {
  buildZclFrame,
  decodeDefaultResponse,
  decodeReadAttributes,
  decodeReadAttributesResponse,
  encodeDefaultResponse,
  encodeReadAttributes,
  encodeReadAttributesResponse,
  AttributeRecord,
  FRAME_TYPE_CLUSTER,
  FRAME_TYPE_GLOBAL,
  parseZclFrame,
  TYPE_UINT16,
  TYPE_UINT32,
  TYPE_UINT8,
  ZclHeader,
} from '../../firmware/core/zcl-frame';
import { buildClientFrame, buildServerFrame, ClientCommand, decodeFromClient, decodeFromServer, decodeOta, encodeOta, isServerToClient, OtaCommand, ServerCommand, STATUS } from '../../firmware/core/zcl-ota';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const eui = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex').toUpperCase());
const imageId = { manufacturerCode: u16, imageType: u16, fileVersion: u32 };

const imageNotify = fc.integer({ min: 0, max: 3 }).chain((payloadType) =>
  fc.record({
    cmd: fc.constant(0x00 as const),
    payloadType: fc.constant(payloadType),
    queryJitter: u8,
    manufacturerCode: payloadType >= 1 ? u16 : fc.constant(undefined),
    imageType: payloadType >= 2 ? u16 : fc.constant(undefined),
    fileVersion: payloadType >= 3 ? u32 : fc.constant(undefined),
  }),
);

const otaCommand: fc.Arbitrary<OtaCommand> = fc.oneof(
  imageNotify,
  fc.record({ cmd: fc.constant(0x01 as const), ...imageId, hardwareVersion: optional(u16) }),
  fc.record({ cmd: fc.constant(0x02 as const), status: fc.constant(STATUS.SUCCESS), image: fc.record({ ...imageId, imageSize: u32 }) }),
  fc.record({ cmd: fc.constant(0x02 as const), status: fc.constantFrom(STATUS.NO_IMAGE_AVAILABLE, STATUS.NOT_AUTHORIZED) }),
  fc.record({
    cmd: fc.constant(0x03 as const),
    ...imageId,
    fileOffset: u32,
    maxDataSize: u8,
    requestNodeAddress: optional(eui),
    minimumBlockPeriod: optional(u16),
  }),
  fc.record({
    cmd: fc.constant(0x04 as const),
    ...imageId,
    fileOffset: u32,
    maxDataSize: u8,
    pageSize: u16,
    responseSpacing: u16,
    requestNodeAddress: optional(eui),
  }),
  fc.record({
    cmd: fc.constant(0x05 as const),
    status: fc.constant(STATUS.SUCCESS),
    block: fc.record({ ...imageId, fileOffset: u32, data: fc.uint8Array({ maxLength: 255 }) }),
  }),
  fc.record({
    cmd: fc.constant(0x05 as const),
    status: fc.constant(STATUS.WAIT_FOR_DATA),
    wait: fc.record({ currentTime: u32, requestTime: u32, minimumBlockPeriod: optional(u16) }),
  }),
  fc.record({ cmd: fc.constant(0x05 as const), status: fc.constant(STATUS.ABORT) }),
  fc.record({
    cmd: fc.constant(0x06 as const),
    status: fc.constantFrom(STATUS.SUCCESS, STATUS.INVALID_IMAGE, STATUS.REQUIRE_MORE_IMAGE, STATUS.ABORT),
    ...imageId,
  }),
  fc.record({ cmd: fc.constant(0x07 as const), ...imageId, currentTime: u32, upgradeTime: u32 }),
);

function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('OTA cluster commands', () => {
  test('every command 0x00–0x07 round-trips through encodeOta/decodeOta', () => {
    fc.assert(fc.property(otaCommand, (c) => expect(decodeOta(c.cmd, encodeOta(c))).toEqual(c)));
  });

  test('every command round-trips inside a ZCL frame, with and without a manufacturer code', () => {
    fc.assert(
      fc.property(otaCommand, optional(u16), fc.boolean(), u8, (c, manufacturerCode, disableDefaultResponse, seq) => {
        const header: ZclHeader = {
          frameType: FRAME_TYPE_CLUSTER,
          manufacturerCode,
          direction: isServerToClient(c.cmd) ? 1 : 0,
          disableDefaultResponse,
          seq,
          commandId: c.cmd,
        };
        const frame = parseZclFrame(buildZclFrame(header, encodeOta(c)));
        expect(frame.header).toEqual(header);
        expect(decodeOta(frame.header.commandId, frame.payload)).toEqual(c);
      }),
    );
  });

  test('server-to-client commands are 0x00, 0x02, 0x05 and 0x07', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].filter(isServerToClient)).toEqual([0x00, 0x02, 0x05, 0x07]);
  });

  // Byte layouts written out from the OTA spec tables (FACTS §2), so a symmetric encode/decode slip shows.
  test.each<[string, OtaCommand, string]>([
    ['Image Notify, jitter only', { cmd: 0x00, payloadType: 0, queryJitter: 100 }, '0064'],
    [
      'Query Next Image Request with hardware version',
      { cmd: 0x01, manufacturerCode: 0x1234, imageType: 0x0001, fileVersion: 1, hardwareVersion: 2 },
      '01' + '3412' + '0100' + '01000000' + '0200',
    ],
    [
      'Query Next Image Response, SUCCESS',
      { cmd: 0x02, status: 0, image: { manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, imageSize: 204800 } },
      '00' + '3412' + '0100' + '02000000' + '00200300',
    ],
    [
      'Image Block Request with minimum block period',
      { cmd: 0x03, manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, fileOffset: 0x40, maxDataSize: 50, minimumBlockPeriod: 250 },
      '02' + '3412' + '0100' + '02000000' + '40000000' + '32' + 'fa00',
    ],
    [
      'Image Block Response, SUCCESS',
      { cmd: 0x05, status: 0, block: { manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, fileOffset: 0x40, data: Uint8Array.from([0xaa, 0xbb, 0xcc]) } },
      '00' + '3412' + '0100' + '02000000' + '40000000' + '03' + 'aabbcc',
    ],
    [
      'Image Block Response, WAIT_FOR_DATA (11-byte form)',
      { cmd: 0x05, status: 0x97, wait: { currentTime: 1, requestTime: 61, minimumBlockPeriod: 1000 } },
      '97' + '01000000' + '3d000000' + 'e803',
    ],
    [
      'Upgrade End Response, wait for a later command',
      { cmd: 0x07, manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, currentTime: 0, upgradeTime: 0xffffffff },
      '3412' + '0100' + '02000000' + '00000000' + 'ffffffff',
    ],
  ])('%s has the spec layout', (_name, c, bytes) => {
    expect(hexOf(encodeOta(c))).toBe(bytes);
    expect(decodeOta(c.cmd, Buffer.from(bytes, 'hex'))).toEqual(c);
  });

  test('the 9-byte WAIT_FOR_DATA form (no minimum block period) decodes', () => {
    const nine = Buffer.from('97' + '10000000' + '20000000', 'hex');
    expect(decodeOta(0x05, nine)).toEqual({ cmd: 0x05, status: 0x97, wait: { currentTime: 0x10, requestTime: 0x20 } });
  });

  test('a truncated payload raises TRUNCATED', () => {
    fc.assert(
      fc.property(otaCommand, fc.nat(), (c, n) => {
        const full = encodeOta(c);
        const cut = n % full.length;
        // Cutting the 11-byte WAIT_FOR_DATA form to 9 or 10 bytes leaves a readable 9-byte form.
        fc.pre(!(c.cmd === 0x05 && c.wait?.minimumBlockPeriod !== undefined && cut >= 9));
        expect(() => decodeOta(c.cmd, full.subarray(0, cut))).toThrow(expect.objectContaining({ code: 'TRUNCATED' }));
      }),
    );
  });

  test('commands outside 0x00–0x07 are UNSUPPORTED', () => {
    expect(() => decodeOta(0x08, new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });

  test('each direction reads only its own commands, and the server-side frame builder matches the generic one', () => {
    fc.assert(
      fc.property(otaCommand, u8, (c, seq) => {
        const payload = encodeOta(c);
        const own = isServerToClient(c.cmd) ? decodeFromServer : decodeFromClient;
        const other = isServerToClient(c.cmd) ? decodeFromClient : decodeFromServer;
        expect(own(c.cmd, payload)).toEqual(c);
        expect(() => other(c.cmd, payload)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
        const h: ZclHeader = { frameType: FRAME_TYPE_CLUSTER, direction: isServerToClient(c.cmd) ? 1 : 0, disableDefaultResponse: true, seq, commandId: c.cmd };
        const built = isServerToClient(c.cmd) ? buildServerFrame(h, c as ServerCommand) : buildClientFrame(h, c as ClientCommand);
        expect(hexOf(built)).toBe(hexOf(buildZclFrame(h, payload)));
      }),
    );
  });
});

describe('ZCL frame header', () => {
  const zclHeader = fc.record({
    frameType: fc.constantFrom(FRAME_TYPE_GLOBAL, FRAME_TYPE_CLUSTER),
    manufacturerCode: optional(u16),
    direction: fc.constantFrom(0, 1),
    disableDefaultResponse: fc.boolean(),
    seq: u8,
    commandId: u8,
  });

  test('header and payload round-trip', () => {
    fc.assert(
      fc.property(zclHeader, fc.uint8Array({ maxLength: 80 }), (header, payload) => {
        expect(parseZclFrame(buildZclFrame(header, payload))).toEqual({ header, payload });
      }),
    );
  });

  test('frame control bits: cluster-specific, manufacturer-specific, server to client, no default response', () => {
    const frame = buildZclFrame({ frameType: 1, manufacturerCode: 0x1234, direction: 1, disableDefaultResponse: true, seq: 7, commandId: 5 }, new Uint8Array(0));
    expect(hexOf(frame)).toBe('1d' + '3412' + '07' + '05');
  });

  test('a reserved frame type is MALFORMED', () => {
    expect(() => parseZclFrame(Uint8Array.from([0x02, 0x01, 0x00]))).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
  });

  test('a header cut short is TRUNCATED', () => {
    expect(() => parseZclFrame(Uint8Array.from([0x05, 0x34, 0x12, 0x01]))).toThrow(expect.objectContaining({ code: 'TRUNCATED' }));
  });
});

describe('general commands', () => {
  const record: fc.Arbitrary<AttributeRecord> = fc.oneof(
    fc.record({ id: u16, status: fc.constant(0), type: fc.constant(TYPE_UINT8), value: u8 }),
    fc.record({ id: u16, status: fc.constant(0), type: fc.constant(TYPE_UINT16), value: u16 }),
    fc.record({ id: u16, status: fc.constant(0), type: fc.constant(TYPE_UINT32), value: u32 }),
    fc.record({ id: u16, status: fc.constant(0x86) }), // UNSUPPORTED_ATTRIBUTE: no type, no value
  );

  test('Read Attributes round-trips', () => {
    fc.assert(fc.property(fc.array(u16, { maxLength: 20 }), (ids) => expect(decodeReadAttributes(encodeReadAttributes(ids))).toEqual(ids)));
  });

  test('Read Attributes with an odd payload length is MALFORMED', () => {
    expect(() => decodeReadAttributes(Uint8Array.from([0x02, 0x00, 0x01]))).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
  });

  test('Read Attributes Response round-trips', () => {
    fc.assert(fc.property(fc.array(record, { maxLength: 10 }), (records) => expect(decodeReadAttributesResponse(encodeReadAttributesResponse(records))).toEqual(records)));
  });

  test('Read Attributes Response: the OTA CurrentFileVersion (0x0002) as uint32', () => {
    const bytes = encodeReadAttributesResponse([{ id: 0x0002, status: 0, type: TYPE_UINT32, value: 0x00000002 }]);
    expect(hexOf(bytes)).toBe('0200' + '00' + '23' + '02000000');
  });

  test('a Read Attributes Response cut inside a value is TRUNCATED', () => {
    const bytes = encodeReadAttributesResponse([{ id: 0x0002, status: 0, type: TYPE_UINT32, value: 2 }]);
    expect(() => decodeReadAttributesResponse(bytes.subarray(0, bytes.length - 1))).toThrow(expect.objectContaining({ code: 'TRUNCATED' }));
  });

  test('Default Response round-trips', () => {
    fc.assert(
      fc.property(fc.record({ commandId: u8, status: u8 }), (d) => expect(decodeDefaultResponse(encodeDefaultResponse(d))).toEqual(d)),
    );
  });
});
