#!/usr/bin/env node
// The `viv` command. It runs app/main/cli.ts in this same process through tsx's ESM loader
// (tsx is a devDependency; `npx viv` is meant for a source checkout after `npm ci`). One
// process, no wrapper: a signal or kill -9 of `viv` reaches the core directly, and the helper
// it spawned sees its stdin close and stops the VM (PROTOCOL.md §1).
import { register } from 'tsx/esm/api';

register();
const { cli } = await import('../app/main/cli.ts');
await cli(process.argv.slice(2));
