/** Events of the application's database credentials (rotate-credentials.ts), merged into the run's event stream. */
export {};

declare module '../../common/events.js' {
  interface EventPayloads {
    /** The standby role has the new password and LOGIN on `sites`: the service should use `live` from now. */
    'pg-credentials-rotated': {
      database: string;
      live: string;
      retiring: string;
      sites: Array<'source' | 'target'>;
      rotation: number;
    };
    /** A rotation's exchange failed; `live` still logs in and the step is retried. The error is redacted. */
    'pg-credentials-rotation-failed': {
      database: string;
      live: string;
      standby: string;
      error: string;
      retryable: boolean;
    };
    /** The old role is NOLOGIN; `terminated` sessions of it were still open after access.rotation.retireAfter. */
    'pg-credentials-retired': { database: string; role: string; terminated: number };
  }
}
