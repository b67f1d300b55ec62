with

source as (

    select * from {{ source('sales', 'customer') }}

),

renamed as (

    select
        cast(customerid as {{ dbt.type_bigint() }}) as customer_id,
        cast(personid as {{ dbt.type_bigint() }}) as person_id,
        cast(storeid as {{ dbt.type_bigint() }}) as store_id,
        cast(territoryid as {{ dbt.type_bigint() }}) as territory_id,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
