// The numbers the hub speaks on its host link (docs/host-link.md): request ops, error codes, event and
// log codes, job states. The hub holds no wording: `chub` turns these into text with one table
// (host-tools/link/hub-protocol.ts), which the docs quote. `const enum`s cost nothing on the device.

/** Request ops: a request is the array [i, op, ...args]. */
export const enum Op {
  Hello = 1,
  DevAdd = 2,
  DevRm = 3,
  DevList = 4,
  ImgBegin = 5,
  ImgData = 6,
  ImgEnd = 7,
  ImgStream = 8,
  ImgRange = 9,
  ImgList = 10,
  ImgRm = 11,
  JobStart = 12,
  JobList = 13,
  AlertList = 14,
  AlertAck = 15,
  Activate = 16,
  VersionRead = 17,
  Console = 18,
  JobCancel = 19,
  /** The hub's own firmware, written beside the running one (firmware/espruino/firmware-update.ts). */
  FwBegin = 20,
  FwData = 21,
  FwEnd = 22,
}

/** Error codes: a refused request is answered [i, err, ...detail] (detail per code in docs/host-link.md). */
export const enum Err {
  INTERNAL = 1,
  BAD_OP = 2,
  /** detail: index of the bad argument (0 = first after op) */
  BAD_ARGS = 3,
  BAD_EUI = 4,
  BAD_TYPE = 5,
  /** detail: capacity */
  LOG_FULL = 6,
  UNKNOWN_DEVICE = 7,
  /** a device already has a transfer in progress */
  BUSY = 8,
  NOT_STORED = 9,
  BAD_NAME = 10,
  BAD_SIZE = 11,
  /** detail: 0 stored (and not streamed), 1 streamed, 2 stored with other content */
  EXISTS = 12,
  /** image store full; detail: size, bytes free */
  STORE_FULL = 13,
  /** job.start past the hub's limits; detail: room, running, alerts held */
  JOBS_FULL = 14,
  /** detail: next */
  OUT_OF_ORDER = 15,
  NO_UPLOAD = 16,
  /** detail: declared size */
  TOO_LONG = 17,
  /** detail: bytes held, size */
  INCOMPLETE = 18,
  /** detail: CRC found, CRC the host said */
  CRC_MISMATCH = 19,
  /** detail: reason (image-header.ts HeaderProblem) */
  BAD_IMAGE = 20,
  UNKNOWN_IMAGE = 21,
  IN_USE = 22,
  /** detail: range bytes, off, length */
  BAD_RANGE = 23,
  NOTHING_HELD = 24,
  NOT_JOINED = 25,
  NO_CONSOLE = 26,
  /** the reply would not fit a frame */
  TOO_BIG = 27,
  /** detail: most devices per job.start */
  TOO_MANY = 28,
  UNKNOWN_JOB = 29,
  /** detail: the job's state */
  JOB_OVER = 30,
  /** job.start names no SHA-256 on a hub whose board requires one (requireSha256) */
  NO_SHA256 = 31,
  /** fw.*: this hub cannot take its firmware over the link (no room for two copies): flash it with the espruino CLI */
  NO_FW_UPDATE = 32,
  /** fw.begin; detail: bytes it needs, bytes Storage has (free and erased) */
  FW_NO_ROOM = 33,
  /** fw.begin: Storage is being compacted first and the hub restarts; ask again once it answers hello */
  FW_COMPACTING = 34,
}

/** Unsolicited events: [0, ev, ...fields]. */
export const enum Ev {
  /** a job record */
  Job = 1,
  /** an alert record */
  Alert = 2,
  /** [Log code, ...numbers or byte strings] */
  Log = 3,
  /** [image name, off, len]: a range of a streamed image the hub wants */
  Need = 4,
  /** [text]: what the interpreter printed while the hub held its console's port */
  Console = 5,
}

/** Log events: what a bench engineer should see; the fields after the code are in docs/host-link.md. */
export const enum Log {
  /** eui, nwk: on the network but not in the device log */
  UNLISTED = 1,
  /** nwk, command id: an OTA command from a device not in the device log */
  NOT_AUTHORIZED = 2,
  /** nwk: a ZCL frame too short to parse */
  MALFORMED_ZCL = 3,
  /** eui, command id: an OTA command the hub could not decode */
  MALFORMED_OTA = 4,
  /** reason: the radio co-processor reset (the hub registers again) */
  RADIO_RESET = 5,
  /** RadioError code, detail: the radio driver's problem */
  RADIO_ERROR = 6,
  /** handle, status: a frame the co-processor could not deliver */
  NOT_DELIVERED = 7,
  /** eui: a frame for a device that has not joined */
  NOT_JOINED = 8,
  /** eui, seconds: a transferring device went silent (its job fails) */
  SILENT = 9,
  /** eui, manufacturer, image type, hardware version (null if not stated) */
  HW_MISMATCH = 10,
  /** eui, version it runs, version offered */
  UP_TO_DATE = 11,
  /** eui: an Upgrade End Request for an image it is not being given */
  END_UNEXPECTED = 12,
  /** eui: a Read Attributes Response the hub could not decode */
  MALFORMED_READ = 13,
}

/** Radio driver problems (Log.RADIO_ERROR). */
export const enum RadioError {
  /** a ZNP frame with a bad FCS was dropped */
  BAD_FCS = 1,
  /** command (cmd0 << 8 | cmd1): an SREQ got no SRSP in time */
  NO_SRSP = 2,
  /** command: an RPC error answered it */
  RPC_ERROR = 3,
  /** command: an SRSP nothing asked for */
  UNEXPECTED_SRSP = 4,
  /** status: AF_REGISTER failed */
  REGISTER_FAILED = 5,
  /** handle: a data request lost in a co-processor reset */
  LOST_IN_RESET = 6,
  /** command: a frame too short for its command */
  BAD_FRAME = 7,
  /** status: ZDO_IEEE_ADDR_REQ refused */
  LOOKUP_REFUSED = 8,
}

/** Job states, in the job record and job events. */
export const enum JobState {
  Queued = 0,
  Transferring = 1,
  /** 0x8F8A raised; an HCALCS holds the image until activated */
  Transferred = 2,
  Activating = 3,
  Done = 4,
  /** 0x8F89 raised, with the job's response code */
  Failed = 5,
}

/** GBCS DeviceType values (GBCS Table 16.2): the hub distributes firmware to these two. */
export const enum DeviceType {
  HCALCS = 4,
  PPMID = 5,
}

/** Image modes in hello. */
export const enum Mode {
  Stored = 0,
  Streamed = 1,
}
