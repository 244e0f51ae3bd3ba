/** Sends SIGCONT to a process this benchmark paused with SIGSTOP; a process already gone is fine. */
export function resumeProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // It exited meanwhile: nothing left to resume.
  }
}
