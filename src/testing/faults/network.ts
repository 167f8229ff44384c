/**
 * The `'network'` fault class: the network's weather — message loss, duplication,
 * reordering, delay and congested links on every link at once.
 */
import type { NetworkFaults } from '../../transports/memoryHub';
import type { FaultContext } from './context';

/**
 * Sets the whole network's weather, drawn at random, or calms it to the base delay.
 *
 * @example
 * const weather = new NetworkWeather(faults, { min: 1, max: 3 });
 * weather.change(); // logs e.g. 'network drop=0.12 dup=0.00 reorder=0.31/42.10ms delay=1.00-7.52ms'
 * weather.calm();   // back to 1–3 ms, nothing lost
 */
export class NetworkWeather {
  constructor(
    private readonly faults: FaultContext,
    /** The network's delay when no weather is in effect. */
    private readonly baseDelay: { readonly min: number; readonly max: number },
  ) {}

  /** Clears the weather: only the base delay is left. */
  calm(): void {
    this.faults.cluster.hub.setFaults({ delay: this.baseDelay });
  }

  /** New weather (a quarter of the time: calm). */
  change(): void {
    const r = this.faults.random;
    const calm = r() < 0.25;
    const faults: NetworkFaults = calm
      ? { delay: this.baseDelay }
      : {
          drop: r() < 0.7 ? r() * 0.3 : 0,
          duplicate: r() < 0.5 ? r() * 0.2 : 0,
          reorder: r() < 0.6 ? r() * 0.4 : 0,
          reorderDelay: 5 + r() * 60,
          delay: { min: this.baseDelay.min, max: this.baseDelay.max + (r() < 0.3 ? r() * 60 : r() * 10) },
          // Congested links: entries queue on each link's bulk lane while heartbeats, votes
          // and answers pass them on the control lane (as over TCP's two connections).
          ...(r() < 0.3 ? { bandwidth: 50 + r() * 450 } : {}),
        };
    this.faults.cluster.hub.setFaults(faults);
    const f = (x: number | undefined) => (x ?? 0).toFixed(2);
    this.faults.log(
      calm
        ? 'network calm'
        : `network drop=${f(faults.drop)} dup=${f(faults.duplicate)} reorder=${f(faults.reorder)}/${f(faults.reorderDelay)}ms delay=${f(faults.delay!.min)}-${f(faults.delay!.max)}ms${faults.bandwidth ? ` bandwidth=${faults.bandwidth.toFixed(0)}B/ms` : ''}`,
    );
  }
}
