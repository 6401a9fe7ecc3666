// Run after every test file (package.json jest.setupFilesAfterEnv). A file that builds firmware in this
// process (host-tools/build/build-firmware.ts) starts esbuild's service: a child process kept by the file's
// own copy of the esbuild module. It is meant to let Node exit once idle, yet CI saw such children hold jest
// open after the last test ("Jest did not exit one second after the test run has completed"), so each file
// stops its own. (Loading esbuild here starts nothing: its service starts with the first build.)
import * as esbuild from 'esbuild';

afterAll(async () => {
  await esbuild.stop();
});
