// Runs the CLI from source (tests and development use it through tsx); bin/handoff.js runs dist/.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
