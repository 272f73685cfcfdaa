/** Events of the chunked initial copy (declaration merging into the run's one event stream). */
declare module '../../../common/events.js' {
  interface EventPayloads {
    /**
     * A replayed copy step started over (its snapshot died with the process that held it): this
     * run's slot and subscription were dropped and the plan's tables it had been filling on the
     * target were emptied before copying again.
     */
    'pg-copy-restarted': { database: string; truncated: string[] };
  }
}
export {};
