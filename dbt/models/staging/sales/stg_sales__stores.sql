with

source as (

    select * from {{ source('sales', 'store') }}

),

renamed as (

    select
        cast(businessentityid as {{ dbt.type_bigint() }}) as store_id,
        cast(name as {{ dbt.type_string() }}) as store_name,
        cast(salespersonid as {{ dbt.type_bigint() }}) as sales_person_id,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
