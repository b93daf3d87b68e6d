// The supervisor's phase: one value, changed in one place (Supervisor#enter), so "where are we" is
// never spread over several fields.
//
//   starting → serving ⇄ reloading(before cutover → after cutover) → stopping → stopped
//
// A reload is in two steps. Before its cutover the new generation is starting and the old one
// serves; a failure aborts it. After the cutover the new generation serves (its crashes are
// replaced like any serving worker's) while the old one drains.

export type Phase =
  | { readonly name: 'starting' }
  | { readonly name: 'serving' }
  | {
      readonly name: 'reloading';
      readonly generation: number;
      readonly cutover: false;
      /** Fired by a shutdown that arrives before the cutover. */
      readonly abort: AbortController;
    }
  | { readonly name: 'reloading'; readonly generation: number; readonly cutover: true }
  | { readonly name: 'stopping' }
  | { readonly name: 'stopped' };

export type PhaseName = Phase['name'];
