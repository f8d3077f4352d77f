// What a repair asks of whoever runs it: show the plan before anything is written, get a confirmation (or
// throw to abort), and take progress lines. Commands supply these; tests of the logic can too.
export interface Interaction<Plan, Shown> {
  showPlan: (shown: Shown) => void
  confirm: (plan: Plan) => Promise<void>
  onProgress?: (line: string) => void
}
