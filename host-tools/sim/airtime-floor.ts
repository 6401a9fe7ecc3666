// The least time an OTA transfer can take on the air: every mandatory frame once, each followed by the
// turnaround and its MAC ACK, with no backoff, no loss, no UART and no processing. Summed over the
// transfers of a run (one shared channel), it is the floor against which a hub's scheduling is measured.
// The frames a transfer needs (transferFrames) are also what the system floor (system-floor.ts) counts.
import { DIR_CLIENT_TO_SERVER, FRAME_TYPE_CLUSTER } from '../../firmware/core/zcl-frame';
import { buildOtaFrame, OtaCommand, STATUS } from '../../firmware/core/zcl-ota';
import { ackAirtimeUs, airtimeUs, psduBytes } from './han-frame';
import { TURNAROUND_US } from './radio-model';

const ID = { manufacturerCode: 0, imageType: 0, fileVersion: 0 };

/** ZCL sizes (bytes) of the frames of one transfer, by the real encoder. */
export interface TransferFrames {
  notify: number;
  query: number;
  queryResponse: number;
  /** `count` blocks of one size: the full blocks, then the short last one if the size does not divide the image. */
  blocks: { count: number; request: number; response: number }[];
  endRequest: number;
  endResponse: number;
}

function zclBytes(c: OtaCommand): number {
  return buildOtaFrame({ frameType: FRAME_TYPE_CLUSTER, direction: DIR_CLIENT_TO_SERVER, disableDefaultResponse: false, seq: 0, commandId: c.cmd }, c).length;
}

function block(count: number, dataBytes: number, minimumBlockPeriod?: number): TransferFrames['blocks'][number] {
  return {
    count,
    request: zclBytes({ cmd: 0x03, ...ID, fileOffset: 0, maxDataSize: dataBytes, minimumBlockPeriod }),
    response: zclBytes({ cmd: 0x05, status: STATUS.SUCCESS, block: { ...ID, fileOffset: 0, data: new Uint8Array(dataBytes) } }),
  };
}

/** Image Notify, Query Next Image request and response, one Image Block request and response per block, Upgrade End request and response.
 *  `minimumBlockPeriod`: the client states its pause between blocks in each Image Block Request (2 bytes more). */
export function transferFrames(imageSize: number, blockSize: number, minimumBlockPeriod?: number): TransferFrames {
  const rest = imageSize % blockSize;
  return {
    notify: zclBytes({ cmd: 0x00, payloadType: 0, queryJitter: 100 }),
    query: zclBytes({ cmd: 0x01, ...ID, hardwareVersion: 0 }),
    queryResponse: zclBytes({ cmd: 0x02, status: STATUS.SUCCESS, image: { ...ID, imageSize } }),
    blocks: rest > 0 ? [block(Math.floor(imageSize / blockSize), blockSize, minimumBlockPeriod), block(1, rest, minimumBlockPeriod)] : [block(imageSize / blockSize, blockSize, minimumBlockPeriod)],
    endRequest: zclBytes({ cmd: 0x06, status: STATUS.SUCCESS, ...ID }),
    endResponse: zclBytes({ cmd: 0x07, ...ID, currentTime: 0, upgradeTime: 0 }),
  };
}

/** A unicast of `zcl` bytes on the air with the turnaround and its ACK (µs). */
export function unicastUs(zcl: number): number {
  return airtimeUs(psduBytes(zcl)) + TURNAROUND_US + ackAirtimeUs();
}

export function transferFloorMs(imageSize: number, blockSize: number): number {
  const f = transferFrames(imageSize, blockSize);
  const fixed = [f.notify, f.query, f.queryResponse, f.endRequest, f.endResponse].reduce((n, z) => n + unicastUs(z), 0);
  return (fixed + f.blocks.reduce((n, b) => n + b.count * (unicastUs(b.request) + unicastUs(b.response)), 0)) / 1000;
}
