import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import { isUuid } from '../domain/validation.js';

/** An Ajv instance as the server uses it: formats on, unknown keys kept (so they are refused). */
export function makeAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, discriminator: true, strict: false, ...options });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  // ajv-formats' uuid also takes `urn:uuid:…`; the API's ids are the bare 36 characters, the
  // same rule the rest of the code applies (a prefixed user id would count as another user).
  ajv.addFormat('uuid', { type: 'string', validate: isUuid });
  return ajv;
}
