// What the hub core needs from a ZigBee co-processor, whatever it is (Z-Stack ZNP today, EZSP later).
// Drivers are pure too: UART bytes and the time come in; UART bytes go out through the `write`
// callback the driver is built with, and decoded events are returned to the caller.

/** A HAN endpoint the hub talks to: ZigBee short (network) address and endpoint number. */
export interface RadioAddress {
  nwk: number;
  endpoint: number;
}

export type RadioEvent =
  /** The co-processor (re)started; the driver re-registers its endpoints by itself. */
  | { type: 'reset'; reason: number }
  /** Endpoints registered; the radio can carry data. */
  | { type: 'ready' }
  /** An APS frame for one of our endpoints. */
  | { type: 'message'; src: RadioAddress; dstEndpoint: number; clusterId: number; data: Uint8Array; linkQuality: number }
  /** A device joined or rejoined the network (ZDO end-device announce). */
  | { type: 'announce'; nwk: number; eui: string }
  /** The answer to lookup(): the device at that network address. */
  | { type: 'address'; nwk: number; eui: string }
  /** Result of an earlier send(): status 0 means the frame was acknowledged by the next hop. */
  | { type: 'confirm'; handle: number; status: number }
  /** The driver could not make sense of the co-processor (bad frame, failed registration, timeout). */
  | { type: 'error'; message: string };

export interface Radio {
  /** Register endpoints etc.; call once the UART is open. */
  start(now: number): void;
  /** Queue a ZCL frame for a device; returns a handle that a later 'confirm' event names. */
  send(dst: RadioAddress, clusterId: number, data: Uint8Array, now: number): number;
  /** Ask the device at a network address for its EUI-64; an 'address' event answers, if it does. */
  lookup(nwk: number, now: number): void;
  /** Feed bytes read from the co-processor UART; returns what they meant. */
  onBytes(bytes: Uint8Array, now: number): RadioEvent[];
  /** Let the driver retry or time out outstanding requests. */
  tick(now: number): RadioEvent[];
}

/** Smart Energy profile and the hub's OTA endpoint (FACTS §3; GBCS uses SE endpoint 1 on the CH). */
export const PROFILE_SMART_ENERGY = 0x0109;
export const HUB_ENDPOINT = 1;
