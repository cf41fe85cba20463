/** Reading the model a `/api/models…` request names. */
import { checkModelName } from "../model_name.ts";
import { HttpError, readJsonObject } from "../server/http_error.ts";

/** The model name in the JSON body (`{"name"}`, or Ollama's `{"model"}`); a 400 if it is bad. */
export async function readModelName(req: Request, maxBodyBytes: number): Promise<string> {
  const body = await readJsonObject(req, maxBodyBytes);
  const checked = checkModelName(body.name ?? body.model);
  if (!checked.ok) throw new HttpError(400, "invalid_model_name", checked.message);
  return checked.name;
}
