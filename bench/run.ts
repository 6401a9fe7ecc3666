// `make bench`: every bench, one after the other (the upload bench times real ptys and processes, so it
// must not share the CPU with the simulator bench), printed as one JSON document.
import { simEfficiency } from './sim-efficiency';
import { uploadSpeed } from './upload-speed';

async function main(): Promise<void> {
  const sim = simEfficiency();
  const upload = await uploadSpeed();
  console.log(JSON.stringify({ simEfficiency: sim, uploadSpeed: upload }, null, 2));
}

main().catch((e) => {
  console.error(`make bench: ${(e as Error).message}`);
  process.exitCode = 1;
});
