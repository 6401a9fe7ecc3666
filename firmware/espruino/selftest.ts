// A small on-device check, bundled like the firmware (make firmware-style build with this entry):
// parses the OTA header of every image listed in the Storage file `selftest.json`
// ([{"name": "...", "size": n}]) through the Storage ImageStore, and prints, per image,
// `SELFTEST {"name", "size", "crc", "result", "usage"}` on the console. test/espruino/image-parser.test.ts
// compares that with the Node parse of the same bytes.
import { parseImageHeader } from '../core/image-header';
import { storage } from './modules';
import { StorageImageStore } from './storage-stores';

function selftest(): void {
  const list = storage().readJSON('selftest.json', true) as { name: string; size: number }[] | undefined;
  if (!list) {
    console.log('SELFTEST_ERROR no selftest.json in Storage');
    return;
  }
  const store = new StorageImageStore();
  for (let i = 0; i < list.length; i++) {
    const name = list[i].name;
    const size = list[i].size;
    const result = parseImageHeader({
      length: size,
      read: function (off: number, len: number) {
        return store.read(name, off, len);
      },
    });
    const crc = store.crc32(name, size);
    console.log('SELFTEST ' + JSON.stringify({ name: name, size: size, crc: crc, result: result, usage: process.memory(false).usage }));
  }
  console.log('SELFTEST_DONE');
}

selftest();
