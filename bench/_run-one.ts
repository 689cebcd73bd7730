/**
 * The child `npm run bench` starts per benchmark (bench/run.ts): `node bench/_run-one.ts <name> [options…]`
 * imports `bench/<name>.ts` and awaits its `run(options)` in this fresh process.
 */
const [name, ...options] = process.argv.slice(2);
const mod = (await import(new URL(`./${name}.ts`, import.meta.url).href)) as {
  run?: (argv: string[]) => Promise<unknown>;
};
if (typeof mod.run !== 'function') {
  console.log(`bench/${name}.ts exports no run()`);
  process.exitCode = 1;
} else {
  await mod.run(options);
}
// A benchmark that left a handle open (a pool's idle socket, a timer) must not hold up the next one.
// Writes to a pipe or a file are synchronous on Linux, so nothing printed is lost.
process.exit();
