// Runs a radio model (radio-model.ts, which sets no timers) on a Scheduler: one timer, at the model's next
// event, re-armed whenever the model says its next event has moved. A virtual clock runs each event at its
// exact time; a wall clock runs it when the timer fires, and the model still judges it at its own time.
import { RadioModel } from './radio-model';
import { Scheduler, TimerHandle } from './scheduler';

export function runRadioOn(radio: RadioModel, scheduler: Scheduler): void {
  let armed: { at: number; handle: TimerHandle } | null = null;
  radio.onWake((at) => {
    if (armed && armed.at <= at) return;
    if (armed) scheduler.clearTimer(armed.handle);
    const handle = scheduler.setTimer(Math.max(0, at - scheduler.now()), () => {
      armed = null;
      radio.advance(Math.max(at, scheduler.now()));
    });
    armed = { at, handle };
  });
}
