// ImageStream: which ranges the hub asks the host for, what it keeps, and what it refuses.
import { Message } from '../../firmware/core/host-link';
import { ImageStream } from '../../firmware/core/image-stream';

const SIZE = 1000;
const image = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7) & 0xff);

function setup(maxRanges = 4) {
  const asks: Message[] = [];
  const s = new ImageStream(100, maxRanges, (m) => asks.push(m));
  const give = (off: number, now = 0) => s.put('fw', SIZE, off, image.subarray(off, Math.min(SIZE, off + 100)), now);
  return { s, asks, give };
}

test('a miss asks for the range and the two after it, once, and again after 2 s unanswered', () => {
  const { s, asks } = setup();
  expect(s.read('fw', SIZE, 250, 64, 0)).toBeUndefined();
  expect(asks).toEqual([
    { ev: 'need', img: 'fw', off: 300, len: 100 },
    { ev: 'need', img: 'fw', off: 400, len: 100 },
    { ev: 'need', img: 'fw', off: 200, len: 100 },
  ]);
  s.read('fw', SIZE, 250, 64, 1000);
  expect(asks).toHaveLength(3);
  s.read('fw', SIZE, 250, 64, 2500);
  expect(asks).toHaveLength(6);
});

test('a range a client waits for takes the place of one fetched ahead; a read-ahead never does', () => {
  const { s, give } = setup(2);
  s.read('fw', SIZE, 0, 10, 0); // asks for 100 and 200 ahead, then 0
  give(100, 1);
  give(200, 1);
  give(0, 1); // the client's range pushes out a read-ahead
  expect(s.read('fw', SIZE, 0, 10, 2)).toEqual(image.subarray(0, 10));

  const one = setup(1);
  one.s.read('fw', SIZE, 500, 10, 0); // 600 and 700 ahead, then 500
  one.give(500, 1);
  one.give(600, 1); // ahead, and the one slot holds a range a client waits for: dropped
  expect(one.s.read('fw', SIZE, 500, 10, 2)).toEqual(image.subarray(500, 510));
  expect(one.s.read('fw', SIZE, 600, 10, 3)).toBeUndefined();
});

test('serves bytes from a range, never past its end, and the last range is short', () => {
  const { s, give } = setup();
  give(200);
  expect(s.read('fw', SIZE, 250, 64, 1)).toEqual(image.subarray(250, 300));
  give(900);
  expect(s.read('fw', SIZE, 960, 64, 1)).toEqual(image.subarray(960, 1000));
});

test('refuses a range that does not start on a boundary or has the wrong length', () => {
  const { s } = setup();
  expect(() => s.put('fw', SIZE, 50, image.subarray(50, 150), 0)).toThrow(expect.objectContaining({ code: 'BAD_RANGE' }));
  expect(() => s.put('fw', SIZE, 100, image.subarray(100, 150), 0)).toThrow(expect.objectContaining({ code: 'BAD_RANGE' }));
  expect(() => s.put('fw', SIZE, 1000, new Uint8Array(0), 0)).toThrow(expect.objectContaining({ code: 'BAD_RANGE' }));
});

test('when full, the least recently served range makes room; ranges no client has had yet are kept', () => {
  const { s, give } = setup(2);
  give(0, 0);
  give(100, 0);
  give(200, 1); // both held ranges are still awaited: this one is dropped
  expect(s.read('fw', SIZE, 200, 10, 2)).toBeUndefined();
  expect(s.read('fw', SIZE, 0, 10, 3)).toEqual(image.subarray(0, 10));
  give(200, 4); // range 0 was served: it goes
  expect(s.read('fw', SIZE, 200, 10, 5)).toEqual(image.subarray(200, 210));
  expect(s.read('fw', SIZE, 100, 10, 6)).toEqual(image.subarray(100, 110));
  expect(s.read('fw', SIZE, 0, 10, 7)).toBeUndefined();
});

test('a range nobody came for in 10 s can be pushed out', () => {
  const { s, give } = setup(1);
  give(0, 0);
  give(100, 5000);
  expect(s.read('fw', SIZE, 100, 10, 5001)).toBeUndefined();
  give(100, 10001);
  expect(s.read('fw', SIZE, 100, 10, 10002)).toEqual(image.subarray(100, 110));
});

test('drop forgets an image', () => {
  const { s, give } = setup();
  give(0);
  s.drop('fw');
  expect(s.read('fw', SIZE, 0, 10, 1)).toBeUndefined();
});
