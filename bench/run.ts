// `make bench`: every bench, one after the other (the upload bench times real ptys and processes, so it
// must not share the CPU with the simulator bench), printed as one JSON document.
import { campaignSpeed } from './campaign-speed';
import { flashSpeed } from './flash-speed';
import { footprint } from './footprint';
import { peerHerdsman } from './peer-herdsman';
import { simEfficiency } from './sim-efficiency';
import { uploadSpeed } from './upload-speed';

async function main(): Promise<void> {
  const sim = simEfficiency();
  const upload = await uploadSpeed();
  const flash = await flashSpeed();
  const fp = await footprint();
  const peer = await peerHerdsman();
  const campaign = await campaignSpeed();
  console.log(JSON.stringify({ simEfficiency: sim, uploadSpeed: upload, flash, footprint: fp.footprint, peer, campaign }, null, 2));
  // The document is printed whole; a footprint figure that could not be taken says why in it, and fails the run.
  if (fp.errors.length) {
    console.error(`make bench: footprint: ${fp.errors.length} figure(s) not taken:\n  ${fp.errors.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(`make bench: ${(e as Error).message}`);
  process.exitCode = 1;
});
