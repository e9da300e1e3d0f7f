// Deleting runs, from the run page and from the runs table: one confirmation that names every run that goes.

import * as api from './api.js';
import {confirmDialog, toast} from './dom.js';

/** What deleting runs takes and leaves, said the same way on the run page and in the runs table. */
const DELETE_NOTE = 'Their history, media entries, console output and files go for good. The artifact versions they logged '
  + 'and the stored media files (blobs) stay.';

/** Delete `runs` after the user confirms; returns the ids deleted (a running run, or one that failed, is reported). */
export async function deleteRuns(runs) {
  const ok = await confirmDialog({
    title: runs.length === 1 ? 'Delete this run?' : `Delete ${runs.length} runs?`,
    items: runs.map((r) => `${r.name || r.id} (${r.id})`), note: DELETE_NOTE,
    confirm: runs.length === 1 ? 'Delete run' : `Delete ${runs.length} runs`,
  });
  if (!ok) return [];
  const done = [], failed = [];
  for (const r of runs) {
    try {
      await api.del(`/runs/${api.enc(r.id)}`);
      done.push(r.id);
    } catch (e) { failed.push(`${r.name || r.id}: ${e.message}`); }
  }
  toast(failed.length ? `Deleted ${done.length}; not deleted: ${failed.join('; ')}` : `Deleted ${done.length} run${done.length === 1 ? '' : 's'}.`);
  return done;
}
