// A small on-device check, bundled like the firmware (make firmware-style build with this entry): runs the
// hub's OTA header check (checkHeader, as img.end runs it in core/image-upload.ts) on every image listed in
// the Storage file `selftest.json` ([{"name": "...", "size": n}]), read through the Storage ImageStore, and
// prints, per image, `SELFTEST {"name", "size", "crc", "code", "row", "usage"}` on the console: the check's
// code and the row it wrote from offset 1 (a row of 7 cells, -2 before the check, so a write outside its
// five cells shows). test/espruino/image-parser.test.ts compares that with the Node check and parse.
import { checkHeader, Ota } from '../core/ota-fixed-header';
import { storage } from './modules';
import { storageImages } from './storage-stores';

function selftest(): void {
  const list = storage().readJSON('selftest.json', true) as { name: string; size: number }[] | undefined;
  if (!list) {
    console.log('SELFTEST_ERROR no selftest.json in Storage');
    return;
  }
  const row = new Float64Array(7);
  for (let i = 0; i < list.length; i++) {
    const name = list[i].name;
    const size = list[i].size;
    row.fill(-2);
    const code = checkHeader(storageImages.read(name, 0, Ota.Max), size, row, 1);
    const cells: number[] = [];
    for (let j = 0; j < row.length; j++) cells.push(row[j]);
    const crc = storageImages.crc32(name, size);
    console.log('SELFTEST ' + JSON.stringify({ name: name, size: size, crc: crc, code: code, row: cells, usage: process.memory(false).usage }));
  }
  console.log('SELFTEST_DONE');
}

selftest();
