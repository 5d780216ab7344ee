// How both browser scripts end: the facts seen so far always reach the report file, whether the
// run finished, failed, or got stuck past its time (exit 0, 1, 2).
import { writeFile } from "node:fs/promises";

export function runReporting(main, facts, config, lastStep) {
  const save = () => writeFile(config.report, JSON.stringify(facts, null, 2));
  setTimeout(async () => {
    facts.error = `stuck after: ${lastStep()}`;
    await save();
    console.error(facts.error);
    process.exit(2);
  }, config.timeout_s * 1000).unref();
  main().then(
    async () => { await save(); process.exit(0); },
    async (error) => {
      facts.error = String(error && error.stack || error);
      await save();
      console.error(facts.error);
      process.exit(1);
    },
  );
}
