// S3's day arithmetic, shared by lifecycle rules and Intelligent-Tiering's archive tiers.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html

export const DAY_MS = 86_400_000;

/**
 * S3 adds the days to the start time and rounds the result up to the following midnight UTC:
 * created 2014-01-15 10:30 with 3 days expires 2014-01-19 00:00.
 */
export function dueAfterDays(startMs: number, days: number): number {
  return (Math.floor((startMs + days * DAY_MS) / DAY_MS) + 1) * DAY_MS;
}
