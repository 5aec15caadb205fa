/** Who is calling, as established by the auth guard. */
export interface Caller {
  userId: string;
  isAdmin: boolean;
}
