// `chub images`: the images the hub holds, and removing one.
import { Command } from 'commander';
import { ImageInfo } from '../link/hub-protocol';
import { imageTable, printJson } from '../format';
import { withHub, withPort } from '../link/port-option';

export function register(program: Command): void {
  const images = withPort(program.command('images'))
    .description('list the images the hub holds (stored, or streamed from a host)')
    .option('--json', 'print the images as JSON')
    .addHelpText('after', '\nExamples:\n  $ chub images\n  $ chub images rm fw-v2')
    .action(async (opts) => {
      await withHub(opts, async (hub) => {
        const list = (await hub.request('img.list')).images as unknown as ImageInfo[];
        if (opts.json) printJson(list);
        else console.log(imageTable(list));
      });
    });

  withPort(images.command('rm <name...>'))
    .description('remove images from the hub (refused while a job is distributing one: cancel it with chub jobs cancel)')
    .option('--json', 'print {"removed": [names]}')
    .addHelpText('after', '\nExample:\n  $ chub images rm fw-v2 fw-v3')
    .action(async (names: string[], opts) => {
      await withHub(opts, async (hub) => {
        for (const name of names) await hub.request('img.rm', { name });
        if (opts.json) printJson({ removed: names });
        else console.log(`removed ${names.join(', ')}`);
      });
    });
}
