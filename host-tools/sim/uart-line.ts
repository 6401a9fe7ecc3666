// One direction of a serial line on the simulator's clock: bytes take their time at the baud rate and
// queue behind bytes already on the wire. Between the hub and its ZNP stick this is what bounds
// throughput as much as the radio does (a 64-byte block is 96 bytes of AF_DATA_REQUEST, 8.3 ms at 115200).
import { Scheduler } from './scheduler';

/** 8N1: a start bit, 8 data bits, a stop bit. */
const BITS_PER_BYTE = 10;

/** Time on the wire of `bytes` bytes at `baudRate`, in ms. */
export function uartMs(bytes: number, baudRate: number): number {
  return (bytes * BITS_PER_BYTE * 1000) / baudRate;
}

export class UartLine {
  private freeAt = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly deliver: (bytes: Uint8Array) => void,
    private readonly baudRate: number,
  ) {}

  write(bytes: Uint8Array): void {
    const now = this.scheduler.now();
    this.freeAt = Math.max(now, this.freeAt) + uartMs(bytes.length, this.baudRate);
    const copy = bytes.slice(); // the writer may reuse its buffer
    this.scheduler.setTimer(this.freeAt - now, () => this.deliver(copy));
  }
}
