# chub — see README.md. Every target installs what it needs first, so each works on a fresh clone.
SHELL := /bin/bash
BOARD ?= linux
NPM_STAMP := node_modules/.install-stamp

.PHONY: all install demo test test-flash soak soak-campaign firmware bench bench-footprint typecheck clean

all: firmware

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NPM_STAMP)
	@.ci/system-deps

## make demo: build, then run the main job on an emulated hub and a simulated HAN
demo: install firmware
	npm run --silent demo

## make test: everything CI runs (unit, codec properties, ptys integration, Espruino bundle)
# --forceExit: a handle left open must not hold CI until its time limit once every test has passed (esbuild's
# service children did: test/helpers/stop-esbuild.ts now stops them). With it jest always prints "Force exiting
# Jest"; to look for a leak, run npx jest --runInBand without it ("Jest did not exit" names one).
test: install
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p firmware/tsconfig.json --noEmit
	npx jest --ci --runInBand --forceExit

## make test-flash: test/hil alone (also in make test): chub flash against the emulated Espruino boards (console on its own pty and on the host link's port), writes garbled on the way, a board short of Storage, an interpreter that stops reading its console
test-flash: install
	npx jest --ci --runInBand test/hil

## make soak: long runs kept out of make test: a 300 KB image streamed to five devices at once on the Espruino interpreter (~30 min); chub flash 50 times in a row on the emulated board, console on its own port and shared with the host link in turn, each followed by chub status, no failure allowed (~25 min; figures in dist/test-results/flash-soak.json)
soak: install
	CHUB_STREAM_KB=300 npx jest --ci --runInBand test/espruino/ota-session.test.ts -t 'streams'
	CHUB_FLASH_SOAK=50 npx jest --ci --runInBand test/hil/flash-soak.test.ts

## make soak-campaign: issue 17's scale test at full size (make test runs it with 60 hubs): 300 emulated hubs with 3 devices each over 3 bench runners sharing one PostgreSQL campaign, one runner SIGKILLed mid-stage and restarted, then the same fleet from one runner on SQLite (~2.5 min)
soak-campaign: install
	CHUB_SCALE_HUBS=300 npx jest --ci --runInBand test/campaign/multi-bench-scale.test.ts

## make firmware BOARD=<name>: minified ES5 bundle at dist/firmware/<name>.js
firmware: $(NPM_STAMP)
	npx ts-node --transpile-only host-tools/build/build-firmware.ts $(BOARD)

## make bench: one JSON document on stdout: simEfficiency (hub ÷ airtime floor, 1/10 devices at 0/10% loss; simulator frames/s), uploadSpeed (image upload over a 115200-baud relay: Node hub, Espruino hub, espruino CLI) and footprint (make bench-footprint). Rebuilds the linux bundle first (log on stderr) so the Espruino figures are for this source
bench: install
	@npx ts-node --transpile-only host-tools/build/build-firmware.ts linux >&2
	@npx ts-node --transpile-only bench/run.ts

## make bench-footprint: make bench's footprint section alone, as one JSON document (~4 min): every board's bundle bytes and Storage left, bytes and resident JsVars per module, JsVars on espruino-2500-i386 (code, idle, 5 transfers at once, per transfer/alert/finished job), blocks served per second, and issue 13's targets beside them
bench-footprint: install
	@npx ts-node --transpile-only bench/footprint.ts

typecheck: $(NPM_STAMP)
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p firmware/tsconfig.json --noEmit

clean:
	rm -rf dist
