#!/usr/bin/env node
// The release-terminal program. This file only registers commands: each action
// normalises its options and calls cli/commands/<name>.ts, which holds no crypto or
// policy (those live in lib/).
import { Command } from 'commander';
import { action, usageExit } from './run.js';

const program = new Command();
program
  .name('airlock')
  .description('Build, sign and publish releases from an isolated release terminal.')
  .version('0.1.0')
  .exitOverride(usageExit)
  .showHelpAfterError();

// --- commands are registered below, one block each ---------------------------------

// (commands registered here)

await program.parseAsync(process.argv);
