// The least time an OTA transfer can take on the air: every mandatory frame once, each followed by the
// turnaround and its MAC ACK, with no backoff, no loss, no UART and no processing. Summed over the
// transfers of a run (one shared channel), it is the floor against which a hub's scheduling is measured.
import { DIR_CLIENT_TO_SERVER, FRAME_TYPE_CLUSTER } from '../../firmware/core/zcl-frame';
import { buildOtaFrame, OtaCommand, STATUS } from '../../firmware/core/zcl-ota';
import { ackAirtimeUs, airtimeUs, psduBytes } from './han-frame';
import { TURNAROUND_US } from './radio-model';

const ID = { manufacturerCode: 0, imageType: 0, fileVersion: 0 };

function zclBytes(c: OtaCommand): number {
  return buildOtaFrame({ frameType: FRAME_TYPE_CLUSTER, direction: DIR_CLIENT_TO_SERVER, disableDefaultResponse: false, seq: 0, commandId: c.cmd }, c).length;
}

function unicastUs(zcl: number): number {
  return airtimeUs(psduBytes(zcl)) + TURNAROUND_US + ackAirtimeUs();
}

function blockUs(dataBytes: number): number {
  const request = zclBytes({ cmd: 0x03, ...ID, fileOffset: 0, maxDataSize: dataBytes });
  const response = zclBytes({ cmd: 0x05, status: STATUS.SUCCESS, block: { ...ID, fileOffset: 0, data: new Uint8Array(dataBytes) } });
  return unicastUs(request) + unicastUs(response);
}

/** Image Notify, Query Next Image request and response, the blocks, Upgrade End request and response. */
export function transferFloorMs(imageSize: number, blockSize: number): number {
  const fixed = [
    { cmd: 0x00, payloadType: 0, queryJitter: 100 },
    { cmd: 0x01, ...ID, hardwareVersion: 0 },
    { cmd: 0x02, status: STATUS.SUCCESS, image: { ...ID, imageSize } },
    { cmd: 0x06, status: STATUS.SUCCESS, ...ID },
    { cmd: 0x07, ...ID, currentTime: 0, upgradeTime: 0 },
  ] as OtaCommand[];
  const full = Math.floor(imageSize / blockSize);
  const rest = imageSize % blockSize;
  const us = fixed.reduce((n, c) => n + unicastUs(zclBytes(c)), 0) + full * blockUs(blockSize) + (rest > 0 ? blockUs(rest) : 0);
  return us / 1000;
}
