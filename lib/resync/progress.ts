/** A step of a running resync, for progress bars and logs. */
export interface ResyncProgress {
  readonly resyncId: string;
  readonly plugin: string;
  /**
   * `started`: the plugin's resync (or part of it) begins; `page`: a page was handed over;
   * `checkpoint`: the invocation's time ran low, the resync continues in a new invocation;
   * `finished`/`failed`: the plugin's resync ended.
   */
  readonly phase: 'started' | 'page' | 'checkpoint' | 'finished' | 'failed';
  /** Which invocation of the resync this is (1 for the first). */
  readonly part: number;
  /** Items handed over so far (across every part). */
  readonly items: number;
  /** Deletions handed over so far. */
  readonly deleted: number;
  /** DynamoDB's estimate of the items in the plugin's tables (an upper bound for the bar). */
  readonly estimatedItems?: number;
}

/** Receives progress. It runs inline: keep it quick; an error it throws fails the plugin's resync. */
export type ProgressListener = (progress: ResyncProgress) => void;
