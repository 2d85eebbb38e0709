#!/usr/bin/env node
// `bananaflow` / `npx bananaflow`: runs the TypeScript CLI through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
// Interrupted (130): calls abandoned by an abort must not keep the process alive.
if (code === 130) process.exit(code);
process.exitCode = code;
