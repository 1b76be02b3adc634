/** Whether a process id is alive on this machine (for lock files and temp names that carry a pid). */

/** True when a process with this id exists (a process of another user counts as existing). */
export function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
