// The benchmark app with a startup hook that takes 1 s (a database connection, a cache warm-up):
// pounce counts it toward readiness, so a reload must wait for it.

export { default } from './hello.ts';

export async function onStartup(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
