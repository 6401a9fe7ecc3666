// What the hub core needs from a ZigBee co-processor, whatever it is (Z-Stack ZNP today, EZSP later).
// Drivers are pure: UART bytes and the time come in; UART bytes go out through the `write` callback the
// driver is built with, and what the bytes meant is handed to the sink at once, as numbers and views of
// the input: no event objects per frame (FACTS §5, DESIGN "Footprint").

/** What a radio driver tells the hub; `data` is a view the sink must not keep past the call. */
export const enum RadioEv {
  /** a = network address, b = source endpoint | cluster << 8, data = the APS payload (a ZCL frame) */
  Message = 1,
  /** a = network address, data = the device's EUI-64 (8 bytes, wire order): it joined or rejoined */
  Announce = 2,
  /** a = network address, data = EUI-64: the answer to lookup() */
  Address = 3,
  /** a = handle from send(), b = status (0: acknowledged by the next hop) */
  Confirm = 4,
  /** b = reason: the co-processor (re)started; the driver registers its endpoint again by itself */
  Reset = 5,
  /** a = RadioError code (codes.ts), b = detail */
  Error = 6,
}

export interface RadioSink {
  radio(ev: RadioEv, a: number, b: number, data: Uint8Array | null, now: number): void;
}

export interface Radio {
  /** Sends `len` bytes of `data` (a ZCL frame; the driver copies them into its frame at once, so the caller
   *  may reuse its buffer) to a device; returns a handle (0–255) that a later Confirm names. Returns -1 when
   *  the driver has no room for it now (nothing was queued: hold the frame and send it again later; room comes
   *  back as the co-processor answers, so retry after onBytes() or tick()), and -2 if it is longer than the
   *  driver ever takes (a ZNP driver: ZnpLimit.MAX_SEND, 96 bytes), which retrying cannot help. */
  send(nwk: number, endpoint: number, cluster: number, data: Uint8Array, len: number, now: number): number;
  /** Ask the device at a network address for its EUI-64; an Address event answers, if it does. Returns 0, or
   *  -1 when the driver has no room for the request now (as send()): ask again later. */
  lookup(nwk: number, now: number): number;
  /** Bytes read from the co-processor UART; what they meant goes to the sink. */
  onBytes(bytes: Uint8Array, now: number): void;
  /** Time out outstanding requests (and send what waits). A new driver's first tick registers the hub's
   *  endpoint: tick once the UART is open. */
  tick(now: number): void;
}

/** Smart Energy profile and the hub's OTA endpoint (FACTS §3; GBCS uses SE endpoint 1 on the CH). */
export const PROFILE_SMART_ENERGY = 0x0109;
export const HUB_ENDPOINT = 1;
/** ZCL OTA Upgrade cluster (ZCL spec, FACTS §2). */
export const OTA_CLUSTER = 0x0019;
