import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { IdentityResolver } from './identity-resolver';

/** Identity for every route: the global auth guard and the queue dashboard share one resolver. */
@Global()
@Module({
  imports: [JwtModule.register({})],
  providers: [IdentityResolver],
  exports: [IdentityResolver],
})
export class AuthModule {}
