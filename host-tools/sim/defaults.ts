// Defaults shared by the HAN simulator and `chub image make`, so a made image fits the simulated devices.

export const DEFAULT_MANUFACTURER_CODE = 0x1234;
export const DEFAULT_IMAGE_TYPE = 0x0001;
export const DEFAULT_FILE_VERSION = 0x00000001;
export const DEFAULT_HARDWARE_VERSION = 0x0002;

/** One device of each kind SECMP0007 covers (FACTS §1); EUIs in the Ember/Silicon Labs 00:0D:6F OUI range. */
export const DEFAULT_DEVICES: { type: 'PPMID' | 'HCALCS'; eui: string }[] = [
  { type: 'PPMID', eui: '000D6F0000000001' },
  { type: 'HCALCS', eui: '000D6F0000000002' },
];
