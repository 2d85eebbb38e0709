import type { Config } from '../../shared/config.ts';
import { parseImagesPerMinute } from '../../shared/quota/images-per-minute.ts';
import type { OptionSpec } from './command.ts';
import { UsageError } from './usage-error.ts';

/** `--ipm`: the images-per-minute quota the run holds to (over BANANAFLOW_IPM). */
export const IPM_OPTION: OptionSpec = {
  type: 'string',
  value: '<n>',
  description:
    'Images per minute the Gemini quota allows (per model: model=N,...): model calls never pass it in any minute, so the run uses the whole quota without 429s. Unset: the rate is learnt from 429s (one 429 pauses every slot).',
  default: 'BANANAFLOW_IPM, else learnt',
};

/** `--ipm` over BANANAFLOW_IPM; 0, a negative number or a non-number is a usage error naming it. */
export function withIpmFlag(config: Config, flag: string | undefined): Config {
  if (flag === undefined) return config;
  const parsed = parseImagesPerMinute(flag);
  if (!parsed.ok) throw new UsageError(`--ipm ${parsed.problem}.`, 'run');
  return { ...config, BANANAFLOW_IPM: parsed.value };
}
