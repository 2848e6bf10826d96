/** Waits `ms`, or until the function handed to `setWake` is called (by stop()). */
export function wakeableSleep(ms: number, setWake: (wake: (() => void) | undefined) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      setWake(undefined);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    setWake(wake);
  });
}
