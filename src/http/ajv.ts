import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';

/** An Ajv instance as the server uses it: formats on, unknown keys kept (so they are refused). */
export function makeAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, discriminator: true, strict: false, ...options });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}
